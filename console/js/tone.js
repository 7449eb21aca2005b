// A short two-note tone for a new emergency request, made with WebAudio (no audio file). Browsers
// only allow sound after the user has interacted with the page, so the context is created on the
// first key press or click (sign-in always provides one).
let ctx = null;

export function unlockAudio() {
  if (ctx) {
    if (ctx.state === 'suspended') ctx.resume().catch(() => {});
    return;
  }
  const AC = globalThis.AudioContext || globalThis.webkitAudioContext;
  if (AC) ctx = new AC();
}

export function playAlertTone() {
  if (!ctx) unlockAudio();
  if (!ctx) return false;
  const t0 = ctx.currentTime;
  for (const [i, freq] of [[0, 880], [1, 660], [2, 880]]) {
    const osc = ctx.createOscillator();
    const gain = ctx.createGain();
    osc.type = 'square';
    osc.frequency.value = freq;
    gain.gain.setValueAtTime(0.0001, t0 + i * 0.22);
    gain.gain.exponentialRampToValueAtTime(0.25, t0 + i * 0.22 + 0.02);
    gain.gain.exponentialRampToValueAtTime(0.0001, t0 + i * 0.22 + 0.2);
    osc.connect(gain).connect(ctx.destination);
    osc.start(t0 + i * 0.22);
    osc.stop(t0 + i * 0.22 + 0.21);
  }
  document.body.dataset.lastTone = String(Date.now());
  document.body.dataset.tones = String((Number(document.body.dataset.tones) || 0) + 1);
  return true;
}
