// Entry of the Bun-built executable dist/berth (scripts/bundle.mjs): the same CLI as dist/cli.js on Node.
import { main } from './main';

main(process.argv.slice(2));
