// Small inline SVG icons: they draw the same on every machine (no emoji or symbol font needed).
const PATHS: Record<string, string> = {
  play: 'M5 3.5v9l8-4.5z',
  stop: 'M4 4h8v8H4z',
  pause: 'M4.5 3.5h2.5v9H4.5zM9 3.5h2.5v9H9z',
  restart: 'M8 3a5 5 0 1 0 4.9 6h-1.6A3.5 3.5 0 1 1 8 4.5c1 0 1.8.4 2.5 1L8.5 7.5H13V3l-1.5 1.5A5 5 0 0 0 8 3z',
  trash: 'M6 2h4l.5 1H13v1.5H3V3h2.5zM4 5.5h8l-.7 8.5H4.7z',
  plus: 'M7.2 3h1.6v4.2H13v1.6H8.8V13H7.2V8.8H3V7.2h4.2z',
  folder: 'M2 4h4.5l1.5 1.5h6V13H2z',
  file: 'M4 2h5.5L12 4.5V14H4z',
  link: 'M6.5 9.5l3-3M7 4.5l1-1a2.5 2.5 0 0 1 3.5 3.5l-1 1M9 11.5l-1 1A2.5 2.5 0 0 1 4.5 9l1-1',
};

export function Icon(p: { name: keyof typeof PATHS | string; size?: number }) {
  const s = p.size ?? 14;
  const stroke = p.name === 'link';
  return (
    <svg width={s} height={s} viewBox="0 0 16 16" aria-hidden="true" style={{ flex: 'none' }}
      fill={stroke ? 'none' : 'currentColor'} stroke={stroke ? 'currentColor' : undefined} stroke-width={stroke ? 1.6 : undefined}>
      <path d={PATHS[p.name] ?? ''} />
    </svg>
  );
}
