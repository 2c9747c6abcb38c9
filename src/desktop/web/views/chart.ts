// A small time-series chart on a canvas (a few hundred bytes of code instead of a charting library): lines over
// a time axis, with grid lines and the max value labelled, drawn at the device's pixel ratio.

export interface Series { label: string; color: string; values: number[] }

export function drawChart(canvas: HTMLCanvasElement, times: number[], series: Series[], fmt: (v: number) => string, fixedMax?: number): void {
  const dpr = window.devicePixelRatio || 1;
  const w = canvas.clientWidth;
  const h = canvas.clientHeight;
  if (canvas.width !== Math.round(w * dpr) || canvas.height !== Math.round(h * dpr)) {
    canvas.width = Math.round(w * dpr);
    canvas.height = Math.round(h * dpr);
  }
  const ctx = canvas.getContext('2d')!;
  ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
  ctx.clearRect(0, 0, w, h);
  const left = 64, right = 8, top = 6, bottom = 18;
  const pw = w - left - right, ph = h - top - bottom;
  let max = fixedMax ?? 0;
  if (fixedMax === undefined) for (const s of series) for (const v of s.values) if (v > max) max = v;
  if (max <= 0) max = 1;
  max *= fixedMax === undefined ? 1.15 : 1;
  ctx.font = '11px system-ui, sans-serif';
  ctx.fillStyle = '#667085';
  ctx.strokeStyle = '#eef0f3';
  ctx.lineWidth = 1;
  ctx.textAlign = 'right';
  ctx.textBaseline = 'middle';
  for (let k = 0; k <= 4; k++) {
    const y = top + ph - (ph * k) / 4;
    ctx.beginPath(); ctx.moveTo(left, Math.round(y) + 0.5); ctx.lineTo(w - right, Math.round(y) + 0.5); ctx.stroke();
    ctx.fillText(fmt((max * k) / 4), left - 6, y);
  }
  if (times.length < 1) {
    ctx.textAlign = 'center';
    ctx.fillText('waiting for samples…', left + pw / 2, top + ph / 2);
    return;
  }
  const t1 = times[times.length - 1];
  const span = Math.max(60_000, t1 - times[0]);
  const t0 = t1 - span;
  const x = (t: number) => left + ((t - t0) / span) * pw;
  ctx.textAlign = 'left';
  ctx.textBaseline = 'alphabetic';
  ctx.fillText(`${Math.round(span / 1000)} s`, left, h - 4);
  ctx.textAlign = 'right';
  ctx.fillText('now', w - right, h - 4);
  for (const s of series) {
    ctx.strokeStyle = s.color;
    ctx.lineWidth = 1.6;
    ctx.beginPath();
    s.values.forEach((v, i) => {
      const px = x(times[i]);
      const py = top + ph - (Math.min(v, max) / max) * ph;
      if (i === 0) ctx.moveTo(px, py); else ctx.lineTo(px, py);
    });
    ctx.stroke();
  }
}
