// The 2D top-down view, used when WebGL is not available: the same scene state drawn on a canvas
// as a floor plan (walls, window, door, furniture footprints with labels, lights, anchors).
import { footprint, main_color, style_of } from './styles.js';

export class View2D {
  constructor(container) {
    this.container = container;
    this.canvas = document.createElement('canvas');
    this.canvas.dataset.view = '2d';
    this.canvas.style.width = '100%';
    this.canvas.style.height = '100%';
    container.appendChild(this.canvas);
    this.state = null;
    this.drawn = [];
    this.resize_observer = new ResizeObserver(() => this.draw());
    this.resize_observer.observe(container);
  }

  apply_state(state) {
    this.state = state;
    this.draw();
    return this.drawn.slice();
  }

  settle() { this.draw(); }

  draw() {
    const dpr = window.devicePixelRatio || 1;
    const cw = Math.max(1, this.container.clientWidth), ch = Math.max(1, this.container.clientHeight);
    this.canvas.width = Math.round(cw * dpr);
    this.canvas.height = Math.round(ch * dpr);
    const g = this.canvas.getContext('2d');
    g.setTransform(dpr, 0, 0, dpr, 0, 0);
    g.fillStyle = '#1d2330';
    g.fillRect(0, 0, cw, ch);
    const st = this.state;
    this.drawn = [];
    this.samples = {};
    if (!st) return;
    const room = st.room, s = style_of(room.style);
    const top = 64, bottom = 48;  // room for the overlay buttons and the summary line
    const scale = Math.min((cw - 80) / room.width, (ch - top - bottom) / room.depth);
    const ox = cw / 2, oz = top + (ch - top - bottom) / 2;
    const X = (x) => ox + x * scale, Z = (z) => oz + z * scale;
    // Floor and walls.
    g.fillStyle = s.floor;
    g.fillRect(X(-room.width / 2), Z(-room.depth / 2), room.width * scale, room.depth * scale);
    g.strokeStyle = s.wall === '#8e5b45' ? '#c98b6e' : '#f4f1ea';
    g.lineWidth = 8;
    g.beginPath();
    g.moveTo(X(room.width / 2), Z(room.depth / 2));
    g.lineTo(X(room.width / 2), Z(-room.depth / 2));
    g.lineTo(X(-room.width / 2), Z(-room.depth / 2));
    g.lineTo(X(-room.width / 2), Z(room.depth / 2));
    g.stroke();
    // Window (light blue gap in the back wall) and door (gap + swing arc in the right wall).
    g.strokeStyle = '#8fd0ff';
    g.lineWidth = 8;
    g.beginPath();
    g.moveTo(X(room.window.x - room.window.width / 2), Z(-room.depth / 2));
    g.lineTo(X(room.window.x + room.window.width / 2), Z(-room.depth / 2));
    g.stroke();
    const dz0 = room.door.z - room.door.width / 2, dz1 = room.door.z + room.door.width / 2;
    g.strokeStyle = s.floor;
    g.beginPath(); g.moveTo(X(room.width / 2), Z(dz0)); g.lineTo(X(room.width / 2), Z(dz1)); g.stroke();
    g.strokeStyle = '#c9b48a';
    g.lineWidth = 2;
    g.beginPath();
    g.arc(X(room.width / 2), Z(dz1), room.door.width * scale, Math.PI, Math.PI * 1.5);
    g.stroke();
    g.font = '11px system-ui, sans-serif';
    g.fillStyle = '#cfe8ff';
    g.fillText('window', X(room.window.x) - 18, Z(-room.depth / 2) - 8);
    g.fillStyle = '#e8dcc0';
    g.fillText('door', X(room.width / 2) + 8, Z(room.door.z));
    // Anchors as faint dots.
    g.fillStyle = 'rgba(255,255,255,0.25)';
    for (const a of Object.values(st.anchors || {})) {
      g.beginPath(); g.arc(X(a.x), Z(a.z), 3, 0, Math.PI * 2); g.fill();
    }
    // Furniture: rugs first, then the rest.
    const objects = [...st.objects].sort((a, b) => (a.type === 'rug' ? 0 : 1) - (b.type === 'rug' ? 0 : 1));
    for (const o of objects) {
      const fp = footprint(o.type);
      g.save();
      g.translate(X(o.x), Z(o.z));
      g.rotate(-(o.rotation * Math.PI) / 180);
      const w = fp.width * scale, d = fp.depth * scale;
      g.fillStyle = main_color(o);
      g.strokeStyle = 'rgba(0,0,0,0.55)';
      g.lineWidth = 1.5;
      if (o.type === 'plant' || o.type === 'lamp') {
        g.beginPath(); g.arc(0, 0, w / 2, 0, Math.PI * 2); g.fill(); g.stroke();
      } else {
        g.fillRect(-w / 2, -d / 2, w, d);
        g.strokeRect(-w / 2, -d / 2, w, d);
        // The back edge (against the wall) is thicker: shows which way it faces.
        g.lineWidth = 4;
        g.beginPath(); g.moveTo(-w / 2, -d / 2); g.lineTo(w / 2, -d / 2); g.stroke();
      }
      const light = (st.lights || []).find((l) => l.id === o.id);
      if (light && light.on) {
        g.fillStyle = light.color;
        g.globalAlpha = 0.35;
        g.beginPath(); g.arc(0, 0, w * 1.3, 0, Math.PI * 2); g.fill();
        g.globalAlpha = 1;
      }
      g.restore();
      // A point inside the footprint, clear of the label, and the colour drawn there (for tests).
      const rad = -(o.rotation * Math.PI) / 180, lx = 0.38 * w, lz = 0.38 * d;
      const round = o.type === 'plant' || o.type === 'lamp';
      const sx = round ? 0 : lx * Math.cos(rad) - lz * Math.sin(rad), sz = round ? 0.38 * w : lx * Math.sin(rad) + lz * Math.cos(rad);
      this.samples[o.id] = { x: X(o.x) + sx, y: Z(o.z) + sz, color: main_color(o), floor: s.floor };
      g.fillStyle = '#111';
      g.font = '600 11px system-ui, sans-serif';
      const label = `${o.style} ${o.type.replace('_', ' ')}`;
      const tw = g.measureText(label).width;
      g.fillStyle = 'rgba(255,255,255,0.8)';
      g.fillRect(X(o.x) - tw / 2 - 3, Z(o.z) - 8, tw + 6, 15);
      g.fillStyle = '#111';
      g.fillText(label, X(o.x) - tw / 2, Z(o.z) + 3);
      this.drawn.push(o.id);
    }
    // Ceiling light state.
    const ceil = (st.lights || []).find((l) => l.id === 'ceiling');
    g.fillStyle = ceil && ceil.on ? ceil.color : '#555';
    g.beginPath(); g.arc(X(0), Z(0), 6, 0, Math.PI * 2); g.fill();
    g.fillStyle = '#9aa4b2';
    g.font = '12px system-ui, sans-serif';
    const caption = `2D plan (WebGL unavailable) · ${st.objects.length} objects`;
    g.fillText(caption, cw - g.measureText(caption).width - 12, 24);
  }
}
