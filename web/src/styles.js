// Style palettes of the console: per style, the colours and finishes of each material and the
// proportions furniture is built with (leg height, arm thickness, roundness ...). Shared by the 3D
// builders and the 2D top-down view.

export const STYLES = {
  nordic: {
    label: 'Nordic',
    wall: '#f1ede6', accentWall: '#e4e8e6', floor: '#d9bf94', floorKind: 'planks', skirting: '#ffffff',
    wood: '#d8b583', woodRough: 0.75, fabric: '#d7d3cb', fabric2: '#9fb4bd', metal: '#cfcfcf', metalRough: 0.5,
    accent: '#7a9aa8', rug: '#e9e4d8', rugBorder: '#9fb4bd', leaf: '#5f8f5a', pot: '#f4f1ea',
    legs: 'tapered', legHeight: 1.0, armWidth: 0.14, backHeight: 1.0, seatSoft: 0.06, round: 0.05,
  },
  industrial: {
    label: 'Industrial',
    wall: '#8e5b45', accentWall: '#9a9893', floor: '#7b7975', floorKind: 'concrete', skirting: '#3b3b3b',
    wood: '#5b3c26', woodRough: 0.85, fabric: '#8a4a2a', fabric2: '#5a3322', metal: '#2d2d2f', metalRough: 0.35,
    accent: '#b0602c', rug: '#6d6a63', rugBorder: '#3d3a35', leaf: '#4d7a45', pot: '#3a3a3a',
    legs: 'metal', legHeight: 1.05, armWidth: 0.18, backHeight: 0.95, seatSoft: 0.02, round: 0.01,
  },
  modern: {
    label: 'Modern',
    wall: '#e8e7e3', accentWall: '#cfd4d8', floor: '#bdb3a5', floorKind: 'planks', skirting: '#f6f6f6',
    wood: '#a07a55', woodRough: 0.6, fabric: '#4b4f56', fabric2: '#d9a93d', metal: '#d4d8dc', metalRough: 0.2,
    accent: '#d9a93d', rug: '#9aa3ab', rugBorder: '#4b4f56', leaf: '#3f8a52', pot: '#fafafa',
    legs: 'metal', legHeight: 0.8, armWidth: 0.2, backHeight: 0.85, seatSoft: 0.03, round: 0.02,
  },
  classic: {
    label: 'Classic',
    wall: '#e6d8bd', accentWall: '#d9c7a3', floor: '#8b5a35', floorKind: 'herringbone', skirting: '#f3ead6',
    wood: '#6b3a1f', woodRough: 0.45, fabric: '#2f5a47', fabric2: '#7a2433', metal: '#b8913c', metalRough: 0.3,
    accent: '#b8913c', rug: '#7a2433', rugBorder: '#d2b36b', leaf: '#3f7044', pot: '#d9d2c0',
    legs: 'turned', legHeight: 1.1, armWidth: 0.16, backHeight: 1.2, seatSoft: 0.08, round: 0.07,
  },
  japanese: {
    label: 'Japanese',
    wall: '#ede6d8', accentWall: '#d8ccb4', floor: '#c7bd8a', floorKind: 'tatami', skirting: '#b89a6a',
    wood: '#dcc39a', woodRough: 0.8, fabric: '#d5ccba', fabric2: '#3f4a45', metal: '#3d3d3d', metalRough: 0.6,
    accent: '#9b3b2e', rug: '#d9cfb5', rugBorder: '#3f4a45', leaf: '#5b7f3c', pot: '#6b5a4a',
    legs: 'low', legHeight: 0.45, armWidth: 0.1, backHeight: 0.7, seatSoft: 0.04, round: 0.02,
  },
};

export const STYLE_NAMES = Object.keys(STYLES);

export function style_of(name) {
  return STYLES[name] || STYLES.modern;
}

// Footprints (metres, before style) — the same table as the server's scene model.
export const FOOTPRINTS = {
  sofa: { width: 2.1, depth: 0.9, height: 0.85 },
  armchair: { width: 0.85, depth: 0.85, height: 0.9 },
  coffee_table: { width: 1.1, depth: 0.6, height: 0.42 },
  dining_table: { width: 1.6, depth: 0.9, height: 0.75 },
  chair: { width: 0.48, depth: 0.5, height: 0.9 },
  bed: { width: 1.6, depth: 2.05, height: 1.0 },
  lamp: { width: 0.4, depth: 0.4, height: 1.6 },
  shelf: { width: 0.9, depth: 0.35, height: 1.8 },
  plant: { width: 0.5, depth: 0.5, height: 1.1 },
  rug: { width: 2.2, depth: 1.5, height: 0.02 },
};

export const FURNITURE_TYPES = Object.keys(FOOTPRINTS);

export function footprint(type) {
  return FOOTPRINTS[type] || { width: 1, depth: 1, height: 1 };
}

// The colour an object shows in the 2D view (its dominant material).
export function main_color(obj) {
  if (obj.color) return obj.color;
  const s = style_of(obj.style);
  switch (obj.type) {
    case 'sofa': case 'armchair': case 'bed': return s.fabric;
    case 'rug': return s.rug;
    case 'plant': return s.leaf;
    case 'lamp': return s.metal;
    default: return s.wood;
  }
}
