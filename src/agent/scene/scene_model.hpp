// The 3D console's room as data: furniture, lights, camera and named anchors, and the pure function
// that applies one scene action (place/move/remove/restyle/set light/camera/clear) to it.
#pragma once
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace omni::agent::scene {

using json = nlohmann::json;

// Room coordinates in metres: x to the right, z towards the viewer (the open front), y up; the
// floor spans [-width/2, width/2] x [-depth/2, depth/2]. The window is in the back wall (z = -depth/2),
// the door in the right wall (x = +width/2). Rotation is in degrees about y; 0 faces +z.
struct RoomGeometry {
  double width = 6.0;
  double depth = 5.0;
  double height = 2.7;
  double window_x = -1.2;   // centre of the window along the back wall
  double window_width = 1.6;
  double door_z = 1.2;      // centre of the door along the right wall
  double door_width = 0.9;
};

struct SceneObject {
  std::string id;      // "sofa_1"
  std::string type;    // one of furniture_types()
  std::string style;   // one of style_names()
  std::string anchor;  // the anchor it was placed at ("window", "left_of:sofa_1") or "" for coordinates
  double x = 0, z = 0;
  double rotation = 0;
  std::string color;   // optional "#rrggbb" override; "" for the style's palette
};

struct SceneLight {
  std::string id;      // "ceiling", "ambient", or a lamp's object id
  bool on = true;
  std::string color = "#fff4e0";
  double brightness = 0.8;  // 0..1
};

struct SceneModel {
  RoomGeometry room;
  std::string room_style = "modern";
  std::vector<SceneObject> objects;
  std::vector<SceneLight> lights;
  std::string camera = "overview";
  long long revision = 0;   // bumped by every change
  long long next_serial = 1;  // numbering of new object ids
};

// A fixed anchor: where something placed "by the window" goes, and which way it faces.
struct Anchor {
  std::string name;
  double x = 0, z = 0, rotation = 0;
  double tangent_x = 1, tangent_z = 0;  // direction along which neighbours at the same anchor line up
};

// Footprint of a furniture type (metres), before style proportions.
struct Footprint {
  double width = 1, depth = 1, height = 1;
};

const std::vector<std::string>& furniture_types();  // sofa, armchair, coffee_table, ...
const std::vector<std::string>& style_names();      // nordic, industrial, modern, classic, japanese
const std::vector<std::string>& camera_views();     // overview, top, front, window, door, corner, ...
Footprint footprint(const std::string& type);
std::vector<Anchor> fixed_anchors(const RoomGeometry& room);

// Canonical names from free text ("Coffee Table", "couch", "Scandinavian", "by the window"); ""
// when the word is unknown.
std::string canonical_type(const std::string& text);
std::string canonical_style(const std::string& text);
std::string canonical_camera(const std::string& text);
std::string canonical_anchor(const std::string& text);  // "window", "left_of:sofa", "corner_back_left"

// The default scene: an empty room, ceiling + ambient light on, overview camera.
SceneModel default_scene();

json to_json(const SceneModel& scene);
SceneModel scene_from_json(const json& j);  // throws omni::Error(invalid_file) on a malformed state

// One applied action: what changed, for clients that animate; `changes` is a list of
// {"op": "add"|"update"|"remove"|"light"|"camera"|"style"|"clear", ...}.
struct SceneChange {
  std::string action;  // canonical action name
  json changes = json::array();
  std::string summary;  // one line for the log: "placed nordic sofa at window"
};

// Applies a scene action to `scene` (bumping its revision when something changed). `action` is
// either {"action"|"name": NAME, ...arguments} or {"action"|"name": NAME, "arguments": {...}}; names
// are place_furniture, move_furniture, remove_furniture, set_style, set_light, camera_view,
// clear_scene. Throws omni::Error(invalid_argument / not_found) naming what was wrong; `scene` is
// left unchanged then.
SceneChange apply_action(SceneModel& scene, const json& action);

// Resolves a position (anchor text, "x,z", or {"x":..,"z":..}) for an object of `type`, ignoring
// object `self_id` when counting neighbours. Exposed for tests.
SceneObject resolve_placement(const SceneModel& scene, const std::string& type, const json& position,
                              const std::string& self_id);

}  // namespace omni::agent::scene
