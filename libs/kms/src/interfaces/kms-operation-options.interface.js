export {};
//# sourceMappingURL=kms-operation-options.interface.js.map
