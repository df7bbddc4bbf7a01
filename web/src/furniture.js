// Procedural furniture library: every piece is built from three.js primitives (no downloaded
// assets), sized to the shared footprints and shaped by its style palette. Each builder returns a
// Group standing on the floor (y = 0), centred on its footprint and facing +z.
import * as THREE from 'three';
import { footprint, style_of } from './styles.js';

const material_cache = new Map();

// A cached MeshStandardMaterial for (colour, roughness, metalness, emissive).
function mat(color, roughness = 0.7, metalness = 0, emissive = null) {
  const key = `${color}|${roughness}|${metalness}|${emissive}`;
  if (!material_cache.has(key)) {
    const m = new THREE.MeshStandardMaterial({ color, roughness, metalness });
    if (emissive) { m.emissive = new THREE.Color(emissive); m.emissiveIntensity = 1.0; }
    material_cache.set(key, m);
  }
  return material_cache.get(key);
}

function materials(s, override) {
  return {
    wood: mat(s.wood, s.woodRough),
    fabric: mat(override || s.fabric, 0.95),
    fabric2: mat(s.fabric2, 0.9),
    metal: mat(s.metal, s.metalRough, 0.8),
    accent: mat(s.accent, 0.6),
    leaf: mat(s.leaf, 0.8),
    pot: mat(s.pot, 0.7),
    white: mat('#f5f3ee', 0.9),
  };
}

function box(w, h, d, material, x = 0, y = 0, z = 0, radius = 0) {
  let geo;
  if (radius > 0.005) {
    // A softly rounded box: a box with chamfered look from a slightly smaller box + capsule edges
    // would be costly; three's RoundedBoxGeometry lives in examples, so use capsule-like scaling.
    geo = rounded_box_geometry(w, h, d, Math.min(radius, w / 2, h / 2, d / 2));
  } else {
    geo = new THREE.BoxGeometry(w, h, d);
  }
  const m = new THREE.Mesh(geo, material);
  m.position.set(x, y, z);
  m.castShadow = true;
  m.receiveShadow = true;
  return m;
}

// A box with rounded vertical and horizontal edges: an extruded rounded rectangle with bevels.
const rounded_cache = new Map();
function rounded_box_geometry(w, h, d, r) {
  const key = [w, h, d, r].map((v) => v.toFixed(3)).join('|');
  if (rounded_cache.has(key)) return rounded_cache.get(key);
  const shape = new THREE.Shape();
  const x0 = -w / 2 + r, x1 = w / 2 - r, y0 = -h / 2 + r, y1 = h / 2 - r;
  shape.moveTo(x0, -h / 2);
  shape.lineTo(x1, -h / 2);
  shape.quadraticCurveTo(w / 2, -h / 2, w / 2, y0);
  shape.lineTo(w / 2, y1);
  shape.quadraticCurveTo(w / 2, h / 2, x1, h / 2);
  shape.lineTo(x0, h / 2);
  shape.quadraticCurveTo(-w / 2, h / 2, -w / 2, y1);
  shape.lineTo(-w / 2, y0);
  shape.quadraticCurveTo(-w / 2, -h / 2, x0, -h / 2);
  const depth = Math.max(0.001, d - 2 * r);
  const geo = new THREE.ExtrudeGeometry(shape, {
    depth, bevelEnabled: true, bevelThickness: r, bevelSize: r * 0.999 - 0.0001, bevelSegments: 3, curveSegments: 4,
  });
  geo.translate(0, 0, -depth / 2);
  // The bevel grows the outline by bevelSize: shrink back to the requested width/height.
  geo.computeBoundingBox();
  const bb = geo.boundingBox;
  geo.scale(w / (bb.max.x - bb.min.x), h / (bb.max.y - bb.min.y), d / (bb.max.z - bb.min.z));
  geo.computeVertexNormals();
  rounded_cache.set(key, geo);
  return geo;
}

function cylinder(rt, rb, h, material, x = 0, y = 0, z = 0, segments = 20) {
  const m = new THREE.Mesh(new THREE.CylinderGeometry(rt, rb, h, segments), material);
  m.position.set(x, y, z);
  m.castShadow = true;
  m.receiveShadow = true;
  return m;
}

// Four legs under a rectangle (w x d) of height h, in the style's leg kind.
function legs(group, s, M, w, d, h, inset = 0.06) {
  const xs = [-w / 2 + inset, w / 2 - inset];
  const zs = [-d / 2 + inset, d / 2 - inset];
  for (const x of xs) {
    for (const z of zs) {
      let leg;
      switch (s.legs) {
        case 'metal': leg = cylinder(0.012, 0.012, h, M.metal, x, h / 2, z, 10); break;
        case 'turned': {
          leg = new THREE.Group();
          leg.add(cylinder(0.025, 0.018, h * 0.55, M.wood, 0, h * 0.275, 0, 14));
          leg.add(new THREE.Mesh(new THREE.SphereGeometry(0.032, 14, 10), M.wood).translateY(h * 0.6));
          leg.add(cylinder(0.02, 0.026, h * 0.35, M.wood, 0, h * 0.82, 0, 14));
          leg.position.set(x, 0, z);
          leg.traverse((o) => { o.castShadow = true; });
          break;
        }
        case 'low': leg = box(0.07, h, 0.07, M.wood, x, h / 2, z); break;
        default: {  // tapered wood
          leg = cylinder(0.022, 0.012, h, M.wood, x, h / 2, z, 12);
          leg.rotation.z = (x < 0 ? 1 : -1) * 0.08;
          leg.rotation.x = (z < 0 ? -1 : 1) * 0.08;
        }
      }
      group.add(leg);
    }
  }
}

function build_seat(s, M, fp, n_cushions, armless = false) {
  const g = new THREE.Group();
  const w = fp.width, d = fp.depth;
  const leg_h = 0.12 * s.legHeight;
  const base_h = 0.2;
  const seat_y = leg_h + base_h / 2;
  const arm = armless ? 0 : s.armWidth;
  g.add(box(w, base_h, d, M.fabric, 0, seat_y, 0, s.round));
  const back_h = 0.42 * s.backHeight;
  const back_d = 0.18;
  g.add(box(w, back_h, back_d, M.fabric, 0, leg_h + base_h + back_h / 2 - 0.02, -d / 2 + back_d / 2, s.round * 1.5));
  if (!armless) {
    const arm_h = 0.22 * (s.legs === 'turned' ? 1.15 : 1);
    for (const side of [-1, 1]) {
      const a = box(arm, arm_h, d, M.fabric, side * (w / 2 - arm / 2), leg_h + base_h + arm_h / 2 - 0.02, 0, s.round * 1.5);
      g.add(a);
      if (s.legs === 'turned') {  // rolled arms
        const roll = cylinder(arm * 0.62, arm * 0.62, d, M.fabric, side * (w / 2 - arm / 2), leg_h + base_h + arm_h, 0, 18);
        roll.rotation.x = Math.PI / 2;
        g.add(roll);
      }
    }
  }
  // Seat cushions.
  const inner = w - 2 * arm - 0.04;
  const cw = inner / n_cushions;
  for (let i = 0; i < n_cushions; i++) {
    const x = -inner / 2 + cw * (i + 0.5);
    g.add(box(cw - 0.02, 0.1 + s.seatSoft, d - back_d - 0.06, M.fabric, x, leg_h + base_h + 0.05 + s.seatSoft / 2, back_d / 2 - 0.01, 0.03 + s.seatSoft / 2));
  }
  // Throw pillows on sofas.
  if (n_cushions >= 2) {
    for (const side of [-1, 1]) {
      const p = box(0.38, 0.34, 0.12, M.fabric2, side * (inner / 2 - 0.25), leg_h + base_h + 0.28, -d / 2 + back_d + 0.08, 0.05);
      p.rotation.x = -0.25;
      p.rotation.z = side * 0.08;
      g.add(p);
    }
  }
  if (s.legs === 'low') {
    // Japanese seating sits on a low wooden plinth.
    g.add(box(w + 0.02, leg_h, d + 0.02, M.wood, 0, leg_h / 2, 0));
  } else {
    legs(g, s, M, w, d, leg_h, 0.08);
  }
  return g;
}

function build_table(s, M, fp, top_th) {
  const g = new THREE.Group();
  const h = fp.height * (s.legs === 'low' ? 0.85 : 1);
  const top = box(fp.width, top_th, fp.depth, s.legs === 'metal' && s.label === 'Modern' ? mat('#f2f2f0', 0.25) : M.wood,
                  0, h - top_th / 2, 0, Math.min(0.015, s.round));
  g.add(top);
  if (s.legs === 'metal' && s.label === 'Industrial') {
    // Steel frame: two U-shaped legs.
    for (const side of [-1, 1]) {
      const x = side * (fp.width / 2 - 0.06);
      g.add(box(0.04, h - top_th, 0.04, M.metal, x, (h - top_th) / 2, -fp.depth / 2 + 0.05));
      g.add(box(0.04, h - top_th, 0.04, M.metal, x, (h - top_th) / 2, fp.depth / 2 - 0.05));
      g.add(box(0.04, 0.04, fp.depth - 0.1, M.metal, x, 0.02, 0));
    }
  } else if (s.legs === 'low') {
    g.add(box(fp.width * 0.8, h - top_th, fp.depth * 0.7, M.wood, 0, (h - top_th) / 2, 0));
  } else {
    legs(g, s, M, fp.width, fp.depth, h - top_th, 0.07);
  }
  return g;
}

function build_coffee_table(s, M, fp) {
  const g = build_table(s, M, fp, 0.05);
  const h = fp.height * (s.legs === 'low' ? 0.85 : 1);
  // A lower shelf, a book stack and a small bowl make it read as a coffee table.
  if (s.legs !== 'low') g.add(box(fp.width - 0.14, 0.025, fp.depth - 0.14, M.wood, 0, 0.1, 0));
  g.add(box(0.22, 0.04, 0.16, M.accent, fp.width * 0.22, h + 0.02, 0.02));
  g.add(box(0.2, 0.03, 0.15, M.white, fp.width * 0.22, h + 0.055, 0.02));
  const bowl = new THREE.Mesh(new THREE.SphereGeometry(0.09, 20, 10, 0, Math.PI * 2, Math.PI / 2, Math.PI / 2), M.pot);
  bowl.position.set(-fp.width * 0.2, h + 0.09, 0);
  bowl.castShadow = true;
  g.add(bowl);
  return g;
}

function build_chair(s, M, fp) {
  const g = new THREE.Group();
  const seat_h = 0.45 * (s.legs === 'low' ? 0.5 : 1);
  g.add(box(fp.width, 0.04, fp.depth, M.wood, 0, seat_h, 0, 0.01));
  g.add(box(fp.width - 0.04, 0.03, fp.depth - 0.06, M.fabric, 0, seat_h + 0.035, 0.01, 0.01));
  const back_h = (fp.height - seat_h) * s.backHeight;
  if (s.legs === 'japanese' || s.legs === 'low') {
    g.add(box(fp.width, back_h * 0.8, 0.04, M.wood, 0, seat_h + back_h * 0.4, -fp.depth / 2 + 0.02));
    g.add(box(fp.width + 0.02, seat_h, 0.04, M.wood, 0, seat_h / 2, -fp.depth / 2 + 0.02));
    g.add(box(fp.width + 0.02, seat_h, 0.04, M.wood, 0, seat_h / 2, fp.depth / 2 - 0.02));
    return g;
  }
  // Back: posts and slats (or a solid upholstered back for classic).
  for (const side of [-1, 1]) {
    g.add(box(0.03, back_h, 0.03, s.legs === 'metal' ? M.metal : M.wood, side * (fp.width / 2 - 0.03), seat_h + back_h / 2, -fp.depth / 2 + 0.02));
  }
  if (s.legs === 'turned') {
    g.add(box(fp.width - 0.06, back_h * 0.7, 0.05, M.fabric, 0, seat_h + back_h * 0.55, -fp.depth / 2 + 0.03, 0.02));
  } else {
    for (let i = 0; i < 3; i++) {
      g.add(box(fp.width - 0.06, 0.05, 0.02, M.wood, 0, seat_h + back_h * (0.45 + i * 0.22), -fp.depth / 2 + 0.02));
    }
  }
  legs(g, s, M, fp.width, fp.depth, seat_h, 0.03);
  return g;
}

function build_bed(s, M, fp) {
  const g = new THREE.Group();
  const frame_h = 0.3 * (s.legs === 'low' ? 0.45 : 1);
  g.add(box(fp.width, frame_h, fp.depth, M.wood, 0, frame_h / 2 + 0.02, 0, 0.01));
  g.add(box(fp.width - 0.08, 0.22, fp.depth - 0.12, M.white, 0, frame_h + 0.11, 0.03, 0.05));
  // Duvet over the lower two thirds, folded back at the top.
  g.add(box(fp.width - 0.04, 0.08, fp.depth * 0.66, M.fabric2, 0, frame_h + 0.25, fp.depth * 0.15, 0.035));
  g.add(box(fp.width - 0.04, 0.09, 0.16, M.fabric2, 0, frame_h + 0.27, fp.depth * 0.15 - fp.depth * 0.33 + 0.05, 0.04));
  for (const side of [-1, 1]) {
    g.add(box(fp.width * 0.38, 0.12, 0.34, M.white, side * fp.width * 0.22, frame_h + 0.28, -fp.depth / 2 + 0.28, 0.06));
  }
  const head_h = (fp.height - 0.02) * (s.legs === 'low' ? 0.55 : s.backHeight * 0.95);
  const head = box(fp.width + 0.04, head_h, 0.07, s.legs === 'turned' ? M.fabric : M.wood, 0, head_h / 2, -fp.depth / 2 + 0.035, s.round);
  g.add(head);
  return g;
}

function build_lamp(s, M, fp, light_on, light_color) {
  const g = new THREE.Group();
  const h = fp.height * (s.legs === 'low' ? 0.55 : 1);
  g.add(cylinder(0.15, 0.17, 0.03, s.legs === 'low' ? M.wood : M.metal, 0, 0.015, 0, 28));
  g.add(cylinder(0.013, 0.013, h - 0.3, M.metal, 0, (h - 0.3) / 2 + 0.03, 0, 10));
  const shade_material = new THREE.MeshStandardMaterial({
    color: s.legs === 'low' ? '#f4ecd8' : s.pot, roughness: 0.9, side: THREE.DoubleSide,
    emissive: new THREE.Color(light_color || '#ffd9a0'), emissiveIntensity: light_on ? 0.9 : 0.0,
    transparent: true, opacity: 0.95,
  });
  const shade = new THREE.Mesh(
    s.legs === 'low' ? new THREE.CylinderGeometry(0.17, 0.17, 0.38, 24, 1, true) : new THREE.CylinderGeometry(0.12, 0.19, 0.3, 28, 1, true),
    shade_material);
  shade.position.y = h - 0.15;
  shade.castShadow = false;
  shade.name = 'shade';
  g.add(shade);
  const bulb = new THREE.PointLight(light_color || '#ffd9a0', light_on ? 2.2 : 0, 6, 1.6);
  bulb.position.y = h - 0.2;
  bulb.name = 'bulb';
  g.add(bulb);
  return g;
}

function build_shelf(s, M, fp) {
  const g = new THREE.Group();
  const h = fp.height * (s.legs === 'low' ? 0.6 : 1);
  const frame = s.legs === 'metal' ? M.metal : M.wood;
  const th = s.legs === 'metal' ? 0.025 : 0.03;
  for (const side of [-1, 1]) g.add(box(th, h, fp.depth, frame, side * (fp.width / 2 - th / 2), h / 2, 0));
  const n = s.legs === 'low' ? 3 : 5;
  const rng = mulberry(7);
  const book_colors = [s.accent, s.fabric2, s.fabric, '#e8e2d0', '#39434d', '#a24b3a'];
  for (let i = 0; i < n; i++) {
    const y = 0.04 + (i * (h - 0.06)) / (n - 1);
    g.add(box(fp.width - 2 * th, 0.025, fp.depth, M.wood, 0, y, 0));
    if (i === n - 1) break;
    // Books and a box on each shelf.
    let x = -fp.width / 2 + th + 0.03;
    const gap = (h - 0.06) / (n - 1);
    while (x < fp.width / 2 - th - 0.12) {
      const bw = 0.025 + rng() * 0.03, bh = gap * (0.55 + rng() * 0.3);
      if (rng() < 0.15) { x += 0.08; continue; }
      const c = book_colors[Math.floor(rng() * book_colors.length)];
      g.add(box(bw, bh, fp.depth * 0.75, mat(c, 0.8), x + bw / 2, y + 0.0125 + bh / 2, 0.01));
      x += bw + 0.004;
    }
  }
  if (s.legs !== 'low') g.add(box(fp.width, 0.02, 0.02, frame, 0, h * 0.5, -fp.depth / 2 + 0.01));
  return g;
}

function build_plant(s, M, fp) {
  const g = new THREE.Group();
  const pot_h = 0.32 * (s.legs === 'low' ? 0.7 : 1);
  g.add(cylinder(0.2, 0.15, pot_h, M.pot, 0, pot_h / 2, 0, 24));
  g.add(cylinder(0.18, 0.18, 0.02, mat('#4a3626', 1), 0, pot_h - 0.01, 0, 24));
  const rng = mulberry(3);
  const n = 9;
  for (let i = 0; i < n; i++) {
    const a = (i / n) * Math.PI * 2 + rng() * 0.4;
    const len = 0.45 + rng() * 0.35;
    const stem = cylinder(0.008, 0.01, len, mat('#4d6b35', 0.9), 0, 0, 0, 6);
    stem.position.set(Math.cos(a) * 0.06, pot_h + len / 2 * Math.cos(0.35), Math.sin(a) * 0.06);
    stem.rotation.set(Math.sin(a) * 0.35, 0, -Math.cos(a) * 0.35);
    g.add(stem);
    const leaf = new THREE.Mesh(new THREE.SphereGeometry(0.11, 10, 8), M.leaf);
    leaf.scale.set(1, 0.35, 1.8);
    leaf.position.set(Math.cos(a) * (0.06 + len * 0.4), pot_h + len * 0.95, Math.sin(a) * (0.06 + len * 0.4));
    leaf.rotation.y = -a;
    leaf.rotation.z = 0.3;
    leaf.castShadow = true;
    g.add(leaf);
  }
  const crown = new THREE.Mesh(new THREE.IcosahedronGeometry(0.2, 1), M.leaf);
  crown.position.y = pot_h + 0.55;
  crown.scale.set(1, 1.2, 1);
  crown.castShadow = true;
  g.add(crown);
  return g;
}

function build_rug(s, M, fp, override) {
  const g = new THREE.Group();
  const border = mat(s.rugBorder, 1);
  const field = mat(override || s.rug, 1);
  if (s.legs === 'low' || s.legs === 'tapered') {
    const outer = new THREE.Mesh(new THREE.CylinderGeometry(0.5, 0.5, 0.012, 48), border);
    outer.scale.set(fp.width, 1, fp.depth);
    outer.position.y = 0.006;
    outer.receiveShadow = true;
    const inner = new THREE.Mesh(new THREE.CylinderGeometry(0.5, 0.5, 0.014, 48), field);
    inner.scale.set(fp.width - 0.16, 1, fp.depth - 0.16);
    inner.position.y = 0.007;
    inner.receiveShadow = true;
    g.add(outer, inner);
  } else {
    const outer = box(fp.width, 0.012, fp.depth, border, 0, 0.006, 0);
    const inner = box(fp.width - 0.16, 0.014, fp.depth - 0.16, field, 0, 0.007, 0);
    outer.castShadow = inner.castShadow = false;
    g.add(outer, inner);
    if (s.legs === 'turned') g.add(box(fp.width * 0.45, 0.016, fp.depth * 0.4, border, 0, 0.008, 0));
  }
  return g;
}

// A tiny deterministic RNG so books and leaves look the same on every client.
function mulberry(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

// Builds one scene object: {type, style, color?}; `light` is its lamp light state if any.
export function build_furniture(obj, light) {
  const s = style_of(obj.style);
  const M = materials(s, obj.color);
  const fp = footprint(obj.type);
  let g;
  switch (obj.type) {
    case 'sofa': g = build_seat(s, M, fp, 3); break;
    case 'armchair': g = build_seat(s, M, fp, 1); break;
    case 'coffee_table': g = build_coffee_table(s, M, fp); break;
    case 'dining_table': g = build_table(s, M, fp, 0.045); break;
    case 'chair': g = build_chair(s, M, fp); break;
    case 'bed': g = build_bed(s, M, fp); break;
    case 'lamp': g = build_lamp(s, M, fp, light ? light.on : true, light ? light.color : null); break;
    case 'shelf': g = build_shelf(s, M, fp); break;
    case 'plant': g = build_plant(s, M, fp); break;
    case 'rug': g = build_rug(s, M, fp, obj.color); break;
    default: g = new THREE.Group(); g.add(box(fp.width, fp.height, fp.depth, M.accent, 0, fp.height / 2, 0));
  }
  g.userData = { id: obj.id, type: obj.type, style: obj.style };
  g.name = obj.id;
  return g;
}
