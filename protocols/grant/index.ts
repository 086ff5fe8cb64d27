/** protocols/grant: encoding, signatures and key chain of offline grants (DESIGN.md, "Trust and tokens"). */
export * from './ed25519.js';
export * from './envelope.js';
export * from './grant.js';
export * from './presentation.js';
export * from './receipt.js';
export * from './trust.js';
export * from './command.js';
export * from './issuer.js';
export * from './handheld.js';
