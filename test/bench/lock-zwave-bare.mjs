// The baseline process of the lock bench's memory figure: a bare zwave-js driver, loaded the way
// the hub loads it (CommonJS through createRequire), started on the same simulated stick, waiting
// until every node (the lock) is interviewed. Plain JavaScript: no TypeScript loader in its RSS.
//   node test/bench/lock-zwave-bare.mjs <port> <cacheDir> <s2AccessControlHex>
import { createRequire } from 'node:module';

const [port, cacheDir, accessControl] = process.argv.slice(2);
const load = createRequire(import.meta.url);
const { Driver } = load('zwave-js');
const driver = new Driver(port, {
  securityKeys: { S2_AccessControl: new Uint8Array(Buffer.from(accessControl, 'hex')) },
  storage: { cacheDir, lockDir: cacheDir },
  logConfig: { enabled: false },
  interview: { queryAllUserCodes: false },
});
driver.on('error', (err) => console.error(String(err)));
driver.once('all nodes ready', () => console.log('ready'));
await driver.start();
process.on('SIGTERM', () => void driver.destroy().then(() => process.exit(0)));
setInterval(() => {}, 1 << 30);
