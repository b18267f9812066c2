export {};
//# sourceMappingURL=kms-module-options.interface.js.map
