export {};
//# sourceMappingURL=keyring-store.interface.js.map
