export const epochMillis = {
  to: (value) => value,
  from: (value) => (value === null ? null : Number(value)),
};
//# sourceMappingURL=epoch-millis.transformer.js.map
