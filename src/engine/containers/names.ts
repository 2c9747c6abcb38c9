// Generated container names, "adjective_scientist" like Docker's, from our own word lists.
const adjectives = ['agile', 'amber', 'ardent', 'bold', 'brave', 'bright', 'calm', 'clever', 'cosmic', 'crisp', 'daring', 'deft',
  'eager', 'earnest', 'fearless', 'fervent', 'gentle', 'glad', 'happy', 'hardy', 'humble', 'jolly', 'keen', 'kind', 'lively',
  'lucid', 'merry', 'mighty', 'nimble', 'noble', 'patient', 'placid', 'plucky', 'proud', 'quiet', 'quick', 'radiant', 'serene',
  'sharp', 'sleek', 'steady', 'stoic', 'sunny', 'swift', 'tender', 'tidy', 'trusty', 'vivid', 'witty', 'zealous'];
const people = ['ada', 'agnesi', 'babbage', 'banach', 'bohr', 'boole', 'cantor', 'curie', 'darwin', 'dijkstra', 'euclid', 'euler',
  'faraday', 'fermat', 'feynman', 'galois', 'gauss', 'hamilton', 'hopper', 'hypatia', 'kepler', 'knuth', 'kovalevskaya',
  'lamarr', 'laplace', 'leibniz', 'lovelace', 'maxwell', 'meitner', 'mendel', 'noether', 'pascal', 'planck', 'poincare',
  'ramanujan', 'riemann', 'ritchie', 'shannon', 'somerville', 'tesla', 'thompson', 'turing', 'volta', 'wiles', 'wu', 'yalow'];

const pick = <T>(list: T[]) => list[Math.floor(Math.random() * list.length)];

export function generateName(taken: (name: string) => boolean): string {
  for (let i = 0; i < 20; i++) {
    const name = `/${pick(adjectives)}_${pick(people)}`;
    if (!taken(name)) return name;
  }
  for (let n = 1; ; n++) {
    const name = `/${pick(adjectives)}_${pick(people)}${n}`;
    if (!taken(name)) return name;
  }
}
