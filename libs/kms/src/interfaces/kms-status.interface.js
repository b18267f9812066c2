export {};
//# sourceMappingURL=kms-status.interface.js.map
