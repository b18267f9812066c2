export class KmsError extends Error {
  name = this.constructor.name;
}
//# sourceMappingURL=kms.error.js.map
