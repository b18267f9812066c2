export {};
//# sourceMappingURL=master-key-provider.interface.js.map
