export {};
//# sourceMappingURL=envelope.interface.js.map
