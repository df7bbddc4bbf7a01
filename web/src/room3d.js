// The 3D view: a three.js room (floor, walls, window, door, ceiling lamp) whose furniture, lights,
// style and camera follow the server's scene state. Objects pop in, move and fade smoothly.
import * as THREE from 'three';
import { OrbitControls } from 'three/examples/jsm/controls/OrbitControls.js';
import { build_furniture } from './furniture.js';
import { style_of } from './styles.js';

// Camera presets: position and look-at target, for a room of width w and depth d.
function camera_preset(view, room) {
  const w = room.width, d = room.depth;
  switch (view) {
    case 'top': return { pos: [0, Math.max(w, d) * 1.55, 0.01], target: [0, 0, 0] };
    case 'front': return { pos: [0, 1.7, d / 2 + 4.2], target: [0, 0.9, 0] };
    case 'window': return { pos: [w * 0.2, 1.6, d / 2 + 0.6], target: [room.window.x, 1.1, -d / 2] };
    case 'door': return { pos: [-w / 2 + 0.4, 1.7, d / 2 + 1.2], target: [w / 2, 1.0, room.door.z] };
    case 'corner': return { pos: [-w / 2 + 0.5, 2.2, d / 2 + 1.5], target: [w / 2 - 0.6, 0.6, -d / 2 + 0.6] };
    case 'left': return { pos: [w / 2 + 3.2, 2.4, 1.2], target: [-0.5, 0.7, 0] };
    case 'right': return { pos: [-w / 2 - 3.2, 2.4, 1.2], target: [0.5, 0.7, 0] };
    default: return { pos: [-w * 0.66, d * 0.95, d * 1.3], target: [0.2, 0.4, -0.3] };
  }
}

// Floor texture per style (planks, concrete, herringbone, tatami) drawn on a canvas.
function floor_texture(style) {
  const s = style_of(style);
  const c = document.createElement('canvas');
  c.width = c.height = 512;
  const g = c.getContext('2d');
  const base = new THREE.Color(s.floor);
  const shade = (k) => `#${base.clone().multiplyScalar(k).getHexString()}`;
  g.fillStyle = s.floor;
  g.fillRect(0, 0, 512, 512);
  if (s.floorKind === 'planks') {
    for (let row = 0; row < 8; row++) {
      const off = (row % 2) * 180 + row * 37;
      g.fillStyle = shade(0.96 + 0.06 * ((row * 7) % 3) / 2);
      g.fillRect(0, row * 64 + 1, 512, 62);
      g.strokeStyle = shade(0.8);
      g.lineWidth = 2;
      g.beginPath(); g.moveTo(0, row * 64); g.lineTo(512, row * 64); g.stroke();
      for (let x = off % 300; x < 512; x += 300) { g.beginPath(); g.moveTo(x, row * 64); g.lineTo(x, row * 64 + 64); g.stroke(); }
    }
  } else if (s.floorKind === 'herringbone') {
    g.strokeStyle = shade(0.75);
    g.lineWidth = 2;
    for (let y = -512; y < 1024; y += 48) {
      for (let x = 0; x < 512; x += 96) {
        g.fillStyle = shade(0.92 + ((x + y) % 5) * 0.025);
        g.beginPath(); g.moveTo(x, y); g.lineTo(x + 48, y + 48); g.lineTo(x + 48, y + 72); g.lineTo(x, y + 24); g.closePath(); g.fill(); g.stroke();
        g.beginPath(); g.moveTo(x + 48, y + 48); g.lineTo(x + 96, y); g.lineTo(x + 96, y + 24); g.lineTo(x + 48, y + 72); g.closePath(); g.fill(); g.stroke();
      }
    }
  } else if (s.floorKind === 'tatami') {
    g.strokeStyle = '#3f4a45';
    g.lineWidth = 6;
    const mats = [[0, 0, 256, 128], [256, 0, 256, 128], [0, 128, 128, 256], [128, 128, 256, 128], [384, 128, 128, 256],
                  [128, 256, 256, 128], [0, 384, 256, 128], [256, 384, 256, 128]];
    for (const [x, y, w, h] of mats) {
      g.fillStyle = shade(0.97);
      g.fillRect(x, y, w, h);
      g.strokeRect(x + 3, y + 3, w - 6, h - 6);
    }
  } else {  // concrete: speckles
    for (let i = 0; i < 4000; i++) {
      g.fillStyle = shade(0.85 + Math.random() * 0.3);
      g.fillRect(Math.random() * 512, Math.random() * 512, 2, 2);
    }
  }
  const t = new THREE.CanvasTexture(c);
  t.wrapS = t.wrapT = THREE.RepeatWrapping;
  t.repeat.set(3, 2.5);
  t.colorSpace = THREE.SRGBColorSpace;
  t.anisotropy = 4;
  return t;
}

export class Room3D {
  // Throws when WebGL is not available (the caller then uses the 2D view).
  constructor(container) {
    this.container = container;
    this.renderer = new THREE.WebGLRenderer({ antialias: true, preserveDrawingBuffer: true });
    this.renderer.setPixelRatio(Math.min(window.devicePixelRatio || 1, 2));
    this.renderer.shadowMap.enabled = true;
    this.renderer.shadowMap.type = THREE.PCFSoftShadowMap;
    this.renderer.toneMapping = THREE.ACESFilmicToneMapping;
    this.renderer.toneMappingExposure = 1.05;
    this.renderer.outputColorSpace = THREE.SRGBColorSpace;
    container.appendChild(this.renderer.domElement);
    this.renderer.domElement.dataset.view = '3d';

    this.scene = new THREE.Scene();
    this.scene.background = new THREE.Color('#1d2330');
    this.scene.fog = new THREE.Fog('#1d2330', 18, 40);
    this.camera = new THREE.PerspectiveCamera(45, 1, 0.05, 100);
    this.controls = new OrbitControls(this.camera, this.renderer.domElement);
    this.controls.enableDamping = true;
    this.controls.maxPolarAngle = Math.PI * 0.495;
    this.controls.minDistance = 1.5;
    this.controls.maxDistance = 20;
    this.controls.addEventListener('start', () => this.invalidate(2000));
    this.controls.addEventListener('change', () => this.invalidate(500));

    this.objects = new Map();   // id -> { group, sig, target: {x,z,rot}, born }
    this.room_group = null;
    this.room_sig = '';
    this.camera_view = null;
    this.camera_anim = null;
    this.lights = {};

    this.hemi = new THREE.HemisphereLight('#dfe8ff', '#6b5a48', 0.6);
    this.scene.add(this.hemi);
    this.sun = new THREE.DirectionalLight('#fff1d6', 2.0);
    this.sun.castShadow = true;
    this.sun.shadow.mapSize.set(1024, 1024);
    this.sun.shadow.camera.left = -5; this.sun.shadow.camera.right = 5;
    this.sun.shadow.camera.top = 5; this.sun.shadow.camera.bottom = -5;
    this.sun.shadow.bias = -0.0008;
    this.scene.add(this.sun, this.sun.target);
    this.ceiling = new THREE.PointLight('#fff4e0', 6, 14, 1.4);
    this.ceiling.castShadow = true;
    this.ceiling.shadow.mapSize.set(512, 512);
    this.scene.add(this.ceiling);

    this.resize_observer = new ResizeObserver(() => this.resize());
    this.resize_observer.observe(container);
    this.resize();
    this.clock = new THREE.Clock();
    this.frames = 0;
    const loop = () => { this.frame(); this.raf = requestAnimationFrame(loop); };
    loop();
  }

  resize() {
    const w = Math.max(1, this.container.clientWidth), h = Math.max(1, this.container.clientHeight);
    this.renderer.setSize(w, h, false);
    this.renderer.domElement.style.width = '100%';
    this.renderer.domElement.style.height = '100%';
    this.camera.aspect = w / h;
    this.camera.updateProjectionMatrix();
    this.invalidate(100);
  }

  build_room(room) {
    if (this.room_group) this.scene.remove(this.room_group);
    const s = style_of(room.style);
    const W = room.width, D = room.depth, H = room.height;
    const g = new THREE.Group();
    const wall_mat = new THREE.MeshStandardMaterial({ color: s.wall, roughness: 0.95 });
    const accent_mat = new THREE.MeshStandardMaterial({ color: s.accentWall, roughness: 0.95 });
    const trim = new THREE.MeshStandardMaterial({ color: s.skirting, roughness: 0.6 });
    const T = 0.12;  // wall thickness
    const walls = { back: new THREE.Group(), left: new THREE.Group(), right: new THREE.Group() };
    g.add(walls.back, walls.left, walls.right);
    let into = g;  // the group add() puts meshes in
    const add = (geo, m, x, y, z) => { const mesh = new THREE.Mesh(geo, m); mesh.position.set(x, y, z); mesh.receiveShadow = true; mesh.castShadow = true; into.add(mesh); return mesh; };

    const floor = add(new THREE.BoxGeometry(W + 2 * T, 0.1, D + T), new THREE.MeshStandardMaterial({ map: floor_texture(room.style), roughness: 0.8 }), 0, -0.05, -T / 2);
    floor.castShadow = false;
    // Back wall with the window opening.
    into = walls.back;
    const win = room.window, wx0 = win.x - win.width / 2, wx1 = win.x + win.width / 2, sill = 0.85, top = 2.2;
    const bz = -D / 2 - T / 2;
    add(new THREE.BoxGeometry(wx0 + W / 2 + T, H, T), wall_mat, (-W / 2 - T + wx0) / 2, H / 2, bz);
    add(new THREE.BoxGeometry(W / 2 + T - wx1, H, T), wall_mat, (wx1 + W / 2 + T) / 2, H / 2, bz);
    add(new THREE.BoxGeometry(win.width, sill, T), wall_mat, win.x, sill / 2, bz);
    add(new THREE.BoxGeometry(win.width, H - top, T), wall_mat, win.x, (top + H) / 2, bz);
    // Window frame, mullion, glass, sill.
    const frame_mat = new THREE.MeshStandardMaterial({ color: s.legs === 'metal' ? '#2b2b2b' : '#f7f5f0', roughness: 0.5 });
    add(new THREE.BoxGeometry(win.width, 0.05, 0.08), frame_mat, win.x, sill + 0.025, bz);
    add(new THREE.BoxGeometry(win.width, 0.05, 0.08), frame_mat, win.x, top - 0.025, bz);
    add(new THREE.BoxGeometry(0.05, top - sill, 0.08), frame_mat, wx0 + 0.025, (sill + top) / 2, bz);
    add(new THREE.BoxGeometry(0.05, top - sill, 0.08), frame_mat, wx1 - 0.025, (sill + top) / 2, bz);
    add(new THREE.BoxGeometry(0.035, top - sill, 0.06), frame_mat, win.x, (sill + top) / 2, bz);
    add(new THREE.BoxGeometry(win.width + 0.12, 0.035, 0.22), trim, win.x, sill, bz + 0.07);
    const glass = new THREE.Mesh(new THREE.PlaneGeometry(win.width, top - sill),
      new THREE.MeshStandardMaterial({ color: '#cfe9ff', emissive: '#a9d8ff', emissiveIntensity: 1.1, transparent: true, opacity: 0.9, roughness: 0.1 }));
    glass.position.set(win.x, (sill + top) / 2, bz);
    walls.back.add(glass);
    // Left wall (solid, accent colour).
    into = walls.left;
    add(new THREE.BoxGeometry(T, H, D + T), accent_mat, -W / 2 - T / 2, H / 2, -T / 2);
    // Right wall with the door opening.
    into = walls.right;
    const door = room.door, dz0 = door.z - door.width / 2, dz1 = door.z + door.width / 2, dtop = 2.05;
    const rx = W / 2 + T / 2;
    add(new THREE.BoxGeometry(T, H, dz0 + D / 2 + T), wall_mat, rx, H / 2, (dz0 - D / 2 - T) / 2);
    if (D / 2 - dz1 > 0.001) add(new THREE.BoxGeometry(T, H, D / 2 - dz1), wall_mat, rx, H / 2, (dz1 + D / 2) / 2);
    add(new THREE.BoxGeometry(T, H - dtop, door.width), wall_mat, rx, (dtop + H) / 2, door.z);
    // Door: frame and a leaf standing ajar.
    const door_mat = new THREE.MeshStandardMaterial({ color: s.wood, roughness: 0.6 });
    add(new THREE.BoxGeometry(0.16, 0.06, door.width + 0.1), trim, rx, dtop + 0.03, door.z);
    add(new THREE.BoxGeometry(0.16, dtop, 0.05), trim, rx, dtop / 2, dz0 - 0.025);
    add(new THREE.BoxGeometry(0.16, dtop, 0.05), trim, rx, dtop / 2, dz1 + 0.025);
    const leaf = new THREE.Group();
    const panel = new THREE.Mesh(new THREE.BoxGeometry(0.045, dtop - 0.02, door.width - 0.02), door_mat);
    panel.position.set(0, (dtop - 0.02) / 2, -(door.width - 0.02) / 2);
    panel.castShadow = true;
    const knob = new THREE.Mesh(new THREE.SphereGeometry(0.035, 12, 8), new THREE.MeshStandardMaterial({ color: '#c9a54a', metalness: 0.8, roughness: 0.3 }));
    knob.position.set(-0.05, 1.0, -(door.width - 0.12));
    leaf.add(panel, knob);
    leaf.position.set(W / 2 - 0.02, 0, dz1);
    leaf.rotation.y = -0.45;
    walls.right.add(leaf);
    // Skirting boards.
    into = g;
    add(new THREE.BoxGeometry(W, 0.09, 0.02), trim, 0, 0.045, -D / 2 + 0.01);
    add(new THREE.BoxGeometry(0.02, 0.09, D), trim, -W / 2 + 0.01, 0.045, 0);
    // Pendant ceiling lamp: a cord, a dome shade and a glowing bulb (the light itself is this.ceiling).
    const cord = add(new THREE.CylinderGeometry(0.006, 0.006, 0.55, 6), trim, 0, H - 0.275, 0);
    cord.castShadow = false;
    const dome = add(new THREE.SphereGeometry(0.2, 24, 12, 0, Math.PI * 2, 0, Math.PI / 2), new THREE.MeshStandardMaterial({ color: s.metal, roughness: 0.45, metalness: 0.3, side: THREE.DoubleSide }), 0, H - 0.75, 0);
    dome.castShadow = false;
    this.pendant_material = new THREE.MeshStandardMaterial({ color: '#ffffff', emissive: '#fff4e0', emissiveIntensity: 0.8 });
    const bulb = add(new THREE.SphereGeometry(0.06, 16, 10), this.pendant_material, 0, H - 0.76, 0);
    bulb.castShadow = false;
    this.walls = walls;
    this.room_dims = { W, D };

    this.ceiling.position.set(0, H - 0.8, 0);
    this.sun.position.set(win.x + 0.8, 3.6, -D / 2 - 3.5);
    this.sun.target.position.set(win.x - 0.2, 0, 0.6);
    this.room_group = g;
    this.scene.add(g);
  }

  apply_lights(lights) {
    const by_id = Object.fromEntries((lights || []).map((l) => [l.id, l]));
    this.lights = by_id;
    const ceil = by_id.ceiling;
    this.ceiling.visible = true;
    this.ceiling.intensity = ceil && ceil.on ? 9 * ceil.brightness : 0;
    if (ceil) this.ceiling.color.set(ceil.color);
    if (this.pendant_material) {
      this.pendant_material.emissiveIntensity = ceil && ceil.on ? 0.4 + 1.2 * ceil.brightness : 0;
      if (ceil) this.pendant_material.emissive.set(ceil.color);
    }
    const amb = by_id.ambient;
    this.hemi.intensity = amb && amb.on ? 0.25 + 1.1 * amb.brightness : 0.12;
    if (amb) this.hemi.color.set(amb.color);
    const any_on = Object.values(by_id).some((l) => l.on);
    this.sun.intensity = any_on ? 2.0 : 1.2;
  }

  // Renders `state` (the server's scene JSON). Returns the ids now shown.
  apply_state(state) {
    this.invalidate(1500);
    const room = state.room;
    const sig = JSON.stringify([room.style, room.width, room.depth, room.height]);
    if (sig !== this.room_sig) { this.build_room(room); this.room_sig = sig; }
    this.apply_lights(state.lights);
    const seen = new Set();
    for (const obj of state.objects) {
      seen.add(obj.id);
      const light = this.lights[obj.id];
      const osig = JSON.stringify([obj.type, obj.style, obj.color || '', light ? [light.on, light.color] : null]);
      let entry = this.objects.get(obj.id);
      if (entry && entry.sig !== osig) {
        this.scene.remove(entry.group);
        const group = build_furniture(obj, light);
        group.position.copy(entry.group.position);
        group.rotation.y = entry.group.rotation.y;
        this.scene.add(group);
        entry = { ...entry, group, sig: osig };
        this.objects.set(obj.id, entry);
      }
      if (!entry) {
        const group = build_furniture(obj, light);
        group.position.set(obj.x, 0, obj.z);
        group.rotation.y = (obj.rotation * Math.PI) / 180;
        group.scale.setScalar(0.001);
        this.scene.add(group);
        entry = { group, sig: osig, born: performance.now() };
        this.objects.set(obj.id, entry);
      }
      if (light) {
        const bulb = entry.group.getObjectByName('bulb');
        if (bulb) { bulb.intensity = light.on ? 3.0 * light.brightness : 0; bulb.color.set(light.color); }
      }
      entry.target = { x: obj.x, z: obj.z, rot: (obj.rotation * Math.PI) / 180 };
    }
    for (const [id, entry] of this.objects) {
      if (!seen.has(id)) { this.scene.remove(entry.group); this.objects.delete(id); }
    }
    if (state.camera !== this.camera_view) this.set_camera(state.camera, state.room, this.camera_view !== null);
    return [...seen];
  }

  set_camera(view, room, animate) {
    this.camera_view = view;
    const p = camera_preset(view, room);
    const to_pos = new THREE.Vector3(...p.pos), to_target = new THREE.Vector3(...p.target);
    if (!animate) {
      this.camera.position.copy(to_pos);
      this.controls.target.copy(to_target);
      this.controls.update();
      return;
    }
    this.invalidate(1200);
    this.camera_anim = { from_pos: this.camera.position.clone(), from_target: this.controls.target.clone(), to_pos, to_target, t0: performance.now() };
  }

  // Renders only while something moves (camera animation, objects settling, orbit damping) or
  // after a change: an idle console costs no GPU/CPU time.
  invalidate(ms = 0) { this.busy_until = Math.max(this.busy_until || 0, performance.now() + ms); }

  frame() {
    const now = performance.now();
    const controls_moved = this.controls.update();
    if (!controls_moved && !this.camera_anim && now > (this.busy_until || 0)) return;
    if (this.camera_anim) {
      const a = this.camera_anim;
      const t = Math.min(1, (now - a.t0) / 900);
      const e = t < 0.5 ? 2 * t * t : 1 - Math.pow(-2 * t + 2, 2) / 2;
      this.camera.position.lerpVectors(a.from_pos, a.to_pos, e);
      this.controls.target.lerpVectors(a.from_target, a.to_target, e);
      if (t >= 1) this.camera_anim = null;
      this.controls.update();
    }
    for (const entry of this.objects.values()) {
      const g = entry.group, tg = entry.target;
      if (!tg) continue;
      const k = 0.18;
      g.position.x += (tg.x - g.position.x) * k;
      g.position.z += (tg.z - g.position.z) * k;
      let dr = tg.rot - g.rotation.y;
      dr = Math.atan2(Math.sin(dr), Math.cos(dr));
      g.rotation.y += dr * k;
      if (g.scale.x < 1) {
        const t = Math.min(1, (now - entry.born) / 450);
        const e = 1 + 2.2 * Math.pow(t - 1, 3) + 1.2 * Math.pow(t - 1, 2);  // ease-out with a little overshoot
        g.scale.setScalar(t >= 1 ? 1 : Math.max(0.001, e));
      }
    }
    this.cutaway();
    this.renderer.render(this.scene, this.camera);
    this.frames++;
  }

  // Hides the walls the camera is outside of, so the room is always seen from inside (a cutaway).
  cutaway() {
    if (!this.walls) return;
    const p = this.camera.position, { W, D } = this.room_dims;
    this.walls.back.visible = p.z > -D / 2;
    this.walls.left.visible = p.x > -W / 2;
    this.walls.right.visible = p.x < W / 2;
  }

  // Settles all animations at once (tests and screenshots).
  settle() {
    for (const entry of this.objects.values()) {
      if (!entry.target) continue;
      entry.group.position.set(entry.target.x, 0, entry.target.z);
      entry.group.rotation.y = entry.target.rot;
      entry.group.scale.setScalar(1);
    }
    if (this.camera_anim) {
      this.camera.position.copy(this.camera_anim.to_pos);
      this.controls.target.copy(this.camera_anim.to_target);
      this.camera_anim = null;
    }
    this.controls.update();
    this.cutaway();
    this.renderer.render(this.scene, this.camera);
  }
}
