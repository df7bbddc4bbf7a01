// Applies scene actions to the room model: anchor and coordinate placement with neighbours lined up,
// object lookup by id or type, lights, camera, styles; and the model's JSON form.
#include "agent/scene/scene_model.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <regex>

#include "omni/error.hpp"

namespace omni::agent::scene {

namespace {

constexpr double k_pi = 3.14159265358979323846;
constexpr double k_gap = 0.12;  // metres between neighbours at one anchor

double deg2rad(double d) { return d * k_pi / 180.0; }

// An anchor's geometry: base point, facing (rotation), tangent along which neighbours line up,
// whether the first object starts at the point (true) or is centred on it, whether its back touches
// a wall (centre is then pushed out by half the depth).
struct AnchorGeometry {
  double x, z, rotation, tx, tz;
  bool align_start;
  bool wall_backed;
};

bool fixed_anchor_geometry(const RoomGeometry& r, const std::string& name, AnchorGeometry& g) {
  double hw = r.width / 2, hd = r.depth / 2, w = 0.06;
  if (name == "window") g = {r.window_x, -hd + w, 0, 1, 0, false, true};
  else if (name == "back_wall") g = {1.3, -hd + w, 0, -1, 0, false, true};
  else if (name == "left_wall") g = {-hw + w, 0.0, 90, 0, 1, false, true};
  else if (name == "right_wall") g = {hw - w, -0.7, -90, 0, -1, false, true};
  else if (name == "door") g = {hw - w, r.door_z - r.door_width / 2 - 0.15, -90, 0, -1, true, true};
  else if (name == "corner" || name == "corner_back_right") g = {hw - 0.1, -hd + w, 0, -1, 0, true, true};
  else if (name == "corner_back_left") g = {-hw + 0.1, -hd + w, 0, 1, 0, true, true};
  else if (name == "corner_front_left") g = {-hw + 0.1, hd - w, 180, 1, 0, true, true};
  else if (name == "corner_front_right") g = {hw - 0.1, hd - w, 180, -1, 0, true, true};
  else if (name == "centre") g = {0.0, 0.2, 0, 1, 0, false, false};
  else return false;
  return true;
}

const std::vector<std::string>& fixed_anchor_names() {
  static const std::vector<std::string> names = {"window", "door", "corner", "corner_back_left", "corner_back_right",
                                                 "corner_front_left", "corner_front_right", "centre", "back_wall",
                                                 "left_wall", "right_wall"};
  return names;
}

std::string join(const std::vector<std::string>& v) {
  std::string out;
  for (const auto& s : v) out += (out.empty() ? "" : ", ") + s;
  return out;
}

// Half extents along x and z of a footprint rotated by `rotation` degrees.
void half_extents(const Footprint& f, double rotation, double& ex, double& ez) {
  double c = std::fabs(std::cos(deg2rad(rotation))), s = std::fabs(std::sin(deg2rad(rotation)));
  ex = c * f.width / 2 + s * f.depth / 2;
  ez = s * f.width / 2 + c * f.depth / 2;
}

void clamp_into_room(const RoomGeometry& r, SceneObject& o) {
  double ex, ez;
  half_extents(footprint(o.type), o.rotation, ex, ez);
  double hw = r.width / 2, hd = r.depth / 2;
  o.x = std::clamp(o.x, -hw + std::min(ex, hw), hw - std::min(ex, hw));
  o.z = std::clamp(o.z, -hd + std::min(ez, hd), hd - std::min(ez, hd));
}

// Rugs lie under furniture: they line up only with other rugs, and furniture ignores them.
bool same_layer(const std::string& a, const std::string& b) { return (a == "rug") == (b == "rug"); }

std::string str_arg(const json& args, std::initializer_list<const char*> keys) {
  for (const char* k : keys) {
    auto it = args.find(k);
    if (it != args.end() && it->is_string()) return it->get<std::string>();
  }
  return "";
}

const json* find_arg(const json& args, std::initializer_list<const char*> keys) {
  for (const char* k : keys) {
    auto it = args.find(k);
    if (it != args.end() && !it->is_null()) return &*it;
  }
  return nullptr;
}

// Splits an action into its name and arguments (flat or under "arguments"/"args"/"params"/"slots").
void split_action(const json& action, std::string& name, json& args) {
  if (!action.is_object()) fail(ErrorCode::invalid_argument, "scene action: expected a JSON object, got ", action.type_name());
  name = str_arg(action, {"action", "name"});
  if (name.empty()) fail(ErrorCode::invalid_argument, "scene action: missing \"action\" (its name)");
  args = json::object();
  for (auto it = action.begin(); it != action.end(); ++it)
    if (it.key() != "action" && it.key() != "name") args[it.key()] = it.value();
  for (const char* k : {"arguments", "args", "params", "parameters", "slots"}) {
    auto it = action.find(k);
    if (it == action.end()) continue;
    json inner = *it;
    if (inner.is_string()) {
      inner = json::parse(inner.get<std::string>(), nullptr, false);
      if (inner.is_discarded()) fail(ErrorCode::invalid_argument, "scene action: \"", k, "\" is not valid JSON");
    }
    if (inner.is_object())
      for (auto a = inner.begin(); a != inner.end(); ++a) args[a.key()] = a.value();
  }
}

std::string lower(std::string s) {
  for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

// "#rrggbb" from a colour name or hex; "" when not a colour.
std::string parse_color(const std::string& raw) {
  std::string s = lower(raw);
  for (char& c : s)
    if (c == '_' || c == '-') c = ' ';
  static const std::regex hex6("^#?[0-9a-f]{6}$"), hex3("^#?[0-9a-f]{3}$");
  if (std::regex_match(s, hex6)) return s[0] == '#' ? s : "#" + s;
  if (std::regex_match(s, hex3)) {
    std::string h = s[0] == '#' ? s.substr(1) : s;
    return std::string("#") + h[0] + h[0] + h[1] + h[1] + h[2] + h[2];
  }
  static const std::vector<std::pair<std::string, std::string>> names = {
      {"warm white", "#ffd8a8"}, {"warm", "#ffc98a"}, {"cool white", "#e4f0ff"}, {"cool", "#cfe3ff"},
      {"cold", "#cfe3ff"},       {"daylight", "#f4f8ff"}, {"white", "#ffffff"}, {"red", "#ff4a3d"},
      {"green", "#4cd964"},      {"blue", "#4a7dff"},     {"yellow", "#ffe066"}, {"orange", "#ff9a3c"},
      {"purple", "#a56bff"},     {"pink", "#ff7ab8"},     {"暖", "#ffc98a"},     {"冷", "#cfe3ff"},
      {"白", "#ffffff"},         {"红", "#ff4a3d"},       {"绿", "#4cd964"},     {"蓝", "#4a7dff"},
      {"黄", "#ffe066"},         {"紫", "#a56bff"}};
  for (const auto& [n, hex] : names)
    if (s.find(n) != std::string::npos) return hex;
  return "";
}

int find_object(const SceneModel& s, const std::string& id) {
  for (size_t i = 0; i < s.objects.size(); ++i)
    if (s.objects[i].id == id) return static_cast<int>(i);
  return -1;
}

// Objects a target text names: an id, "all"/"everything", or a type (optionally narrowed by style),
// newest first. Empty when nothing matches.
std::vector<int> find_targets(const SceneModel& s, const std::string& target, const std::string& style, bool all) {
  std::vector<int> out;
  std::string t = lower(target);
  for (char& c : t)
    if (c == ' ') c = '_';
  int exact = find_object(s, t);
  if (exact >= 0) return {exact};
  bool everything = t.empty() || t == "all" || t == "everything" || t == "all_furniture" || t == "furniture";
  std::string type = everything ? "" : canonical_type(target);
  if (!everything && type.empty()) return {};
  for (int i = static_cast<int>(s.objects.size()) - 1; i >= 0; --i) {
    const auto& o = s.objects[i];
    if (!type.empty() && o.type != type) continue;
    if (!style.empty() && o.style != style) continue;
    out.push_back(i);
  }
  // A style that matches nothing does not hide the type's objects ("move the nordic sofa" when
  // the sofa was restyled).
  if (out.empty() && !style.empty()) return find_targets(s, target, "", all);
  if (!all && !everything && out.size() > 1) out.resize(1);
  return out;
}

json object_json(const SceneObject& o) {
  json j = {{"id", o.id}, {"type", o.type}, {"style", o.style}, {"anchor", o.anchor},
            {"x", std::round(o.x * 1000) / 1000}, {"z", std::round(o.z * 1000) / 1000},
            {"rotation", std::round(o.rotation * 10) / 10}};
  if (!o.color.empty()) j["color"] = o.color;
  return j;
}

json light_json(const SceneLight& l) {
  return {{"id", l.id}, {"on", l.on}, {"color", l.color}, {"brightness", std::round(l.brightness * 1000) / 1000}};
}

bool parse_bool_word(const json& v, bool& out) {
  if (v.is_boolean()) { out = v.get<bool>(); return true; }
  if (v.is_number()) { out = v.get<double>() != 0; return true; }
  if (!v.is_string()) return false;
  std::string s = lower(v.get<std::string>());
  if (s == "on" || s == "true" || s == "yes" || s == "1" || s == "开" || s == "打开") { out = true; return true; }
  if (s == "off" || s == "false" || s == "no" || s == "0" || s == "关" || s == "关闭") { out = false; return true; }
  return false;
}

// Parses "x,z" / "x=1 z=2" / {"x":..,"z":..} into coordinates.
bool parse_coordinates(const json& pos, double& x, double& z) {
  if (pos.is_object() && pos.contains("x") && pos.contains("z") && pos["x"].is_number() && pos["z"].is_number()) {
    x = pos["x"].get<double>();
    z = pos["z"].get<double>();
    return true;
  }
  if (pos.is_array() && pos.size() == 2 && pos[0].is_number() && pos[1].is_number()) {
    x = pos[0].get<double>();
    z = pos[1].get<double>();
    return true;
  }
  if (!pos.is_string()) return false;
  static const std::regex pair_re(R"(^\s*\(?\s*(?:x\s*[=:]\s*)?(-?[0-9]+(?:\.[0-9]+)?)\s*[, ]\s*(?:[yz]\s*[=:]\s*)?(-?[0-9]+(?:\.[0-9]+)?)\s*\)?\s*$)");
  std::smatch m;
  std::string s = lower(pos.get<std::string>());
  if (!std::regex_match(s, m, pair_re)) return false;
  x = std::stod(m[1].str());
  z = std::stod(m[2].str());
  return true;
}

}  // namespace

Footprint footprint(const std::string& type) {
  if (type == "sofa") return {2.1, 0.9, 0.85};
  if (type == "armchair") return {0.85, 0.85, 0.9};
  if (type == "coffee_table") return {1.1, 0.6, 0.42};
  if (type == "dining_table") return {1.6, 0.9, 0.75};
  if (type == "chair") return {0.48, 0.5, 0.9};
  if (type == "bed") return {1.6, 2.05, 1.0};
  if (type == "lamp") return {0.4, 0.4, 1.6};
  if (type == "shelf") return {0.9, 0.35, 1.8};
  if (type == "plant") return {0.5, 0.5, 1.1};
  if (type == "rug") return {2.2, 1.5, 0.02};
  return {1, 1, 1};
}

std::vector<Anchor> fixed_anchors(const RoomGeometry& room) {
  std::vector<Anchor> out;
  for (const auto& n : fixed_anchor_names()) {
    AnchorGeometry g{};
    fixed_anchor_geometry(room, n, g);
    out.push_back({n, g.x, g.z, g.rotation, g.tx, g.tz});
  }
  return out;
}

SceneModel default_scene() {
  SceneModel s;
  s.lights.push_back({"ceiling", true, "#fff4e0", 0.8});
  s.lights.push_back({"ambient", true, "#dfe8ff", 0.5});
  return s;
}

json to_json(const SceneModel& s) {
  json objects = json::array(), lights = json::array(), anchors = json::object();
  for (const auto& o : s.objects) objects.push_back(object_json(o));
  for (const auto& l : s.lights) lights.push_back(light_json(l));
  for (const auto& a : fixed_anchors(s.room))
    anchors[a.name] = {{"x", a.x}, {"z", a.z}, {"rotation", a.rotation}};
  const auto& r = s.room;
  return {{"revision", s.revision},
          {"room", {{"width", r.width}, {"depth", r.depth}, {"height", r.height}, {"style", s.room_style},
                    {"window", {{"wall", "back"}, {"x", r.window_x}, {"width", r.window_width}}},
                    {"door", {{"wall", "right"}, {"z", r.door_z}, {"width", r.door_width}}}}},
          {"objects", objects},
          {"lights", lights},
          {"camera", s.camera},
          {"anchors", anchors},
          {"next_serial", s.next_serial}};
}

SceneModel scene_from_json(const json& j) {
  try {
    SceneModel s = default_scene();
    s.lights.clear();
    s.revision = j.at("revision").get<long long>();
    s.next_serial = j.value("next_serial", 1LL);
    const json& room = j.at("room");
    s.room_style = room.value("style", std::string("modern"));
    for (const auto& o : j.at("objects")) {
      SceneObject obj;
      obj.id = o.at("id").get<std::string>();
      obj.type = o.at("type").get<std::string>();
      obj.style = o.value("style", std::string("modern"));
      obj.anchor = o.value("anchor", std::string());
      obj.x = o.at("x").get<double>();
      obj.z = o.at("z").get<double>();
      obj.rotation = o.value("rotation", 0.0);
      obj.color = o.value("color", std::string());
      if (canonical_type(obj.type) != obj.type) fail(ErrorCode::invalid_file, "scene state: unknown furniture type '", obj.type, "'");
      s.objects.push_back(obj);
    }
    for (const auto& l : j.at("lights"))
      s.lights.push_back({l.at("id").get<std::string>(), l.value("on", true), l.value("color", std::string("#ffffff")),
                          l.value("brightness", 0.8)});
    s.camera = j.value("camera", std::string("overview"));
    return s;
  } catch (const json::exception& e) {
    fail(ErrorCode::invalid_file, "scene state: malformed JSON state (", e.what(), ")");
  }
}

SceneObject resolve_placement(const SceneModel& s, const std::string& type, const json& position, const std::string& self_id) {
  SceneObject o;
  o.type = type;
  Footprint f = footprint(type);
  double x = 0, z = 0;
  if (parse_coordinates(position, x, z)) {
    o.x = x;
    o.z = z;
    o.anchor = "";
    clamp_into_room(s.room, o);
    return o;
  }
  std::string text = position.is_string() ? position.get<std::string>() : "";
  if (!position.is_null() && !position.is_string())
    fail(ErrorCode::invalid_argument, "scene: position must be an anchor name or coordinates, got ", position.dump());
  std::string anchor = text.empty() ? "centre" : canonical_anchor(text);
  if (anchor.empty())
    fail(ErrorCode::not_found, "scene: unknown position '", text, "' (anchors: ", join(fixed_anchor_names()),
         ", left_of/right_of/in_front_of/behind/next_to an object, or \"x,z\" in metres)");

  // Neighbours already at this anchor (same layer), in placement order.
  auto neighbours = [&](const std::string& a) {
    std::vector<const SceneObject*> out;
    for (const auto& other : s.objects)
      if (other.anchor == a && other.id != self_id && same_layer(other.type, type)) out.push_back(&other);
    return out;
  };

  size_t colon = anchor.find(':');
  if (colon == std::string::npos) {
    AnchorGeometry g{};
    fixed_anchor_geometry(s.room, anchor, g);
    double along = 0;
    auto others = neighbours(anchor);
    if (g.align_start) {
      for (const auto* n : others) along += footprint(n->type).width + k_gap;
      along += f.width / 2;
    } else if (!others.empty()) {
      // The first sits on the point; later ones alternate right and left of the group.
      double right = footprint(others[0]->type).width / 2, left = right;
      for (size_t i = 1; i < others.size(); ++i) {
        double w = footprint(others[i]->type).width + k_gap;
        if (i % 2 == 1) right += w; else left += w;
      }
      along = others.size() % 2 == 1 ? right + k_gap + f.width / 2 : -(left + k_gap + f.width / 2);
    }
    double fx = std::sin(deg2rad(g.rotation)), fz = std::cos(deg2rad(g.rotation));
    double push = g.wall_backed ? f.depth / 2 : 0;
    o.x = g.x + g.tx * along + fx * push;
    o.z = g.z + g.tz * along + fz * push;
    o.rotation = g.rotation;
    o.anchor = anchor;
    clamp_into_room(s.room, o);
    return o;
  }

  std::string relation = anchor.substr(0, colon), ref = anchor.substr(colon + 1);
  auto targets = find_targets(s, ref, "", false);
  targets.erase(std::remove_if(targets.begin(), targets.end(), [&](int i) { return s.objects[i].id == self_id; }), targets.end());
  if (targets.empty()) fail(ErrorCode::not_found, "scene: no ", ref, " in the room to place the ", type, " ", relation, " (", text, ")");
  const SceneObject& r = s.objects[targets[0]];
  Footprint rf = footprint(r.type);
  double rad = deg2rad(r.rotation);
  double fx = std::sin(rad), fz = std::cos(rad);  // the reference's facing
  double lx = -fz, lz = fx;                          // its left as seen by someone facing it
  std::string key = relation + ":" + r.id;
  double dist = 0, dx = 0, dz = 0;
  auto others = neighbours(key);
  double stacked = 0;
  if (relation == "left_of" || relation == "right_of" || relation == "next_to") {
    for (const auto* n : others) stacked += footprint(n->type).width + k_gap;
    dist = rf.width / 2 + k_gap + stacked + f.width / 2;
    double sign = relation == "left_of" ? 1 : -1;
    dx = sign * lx;
    dz = sign * lz;
  } else if (relation == "in_front_of") {
    for (const auto* n : others) stacked += footprint(n->type).depth + k_gap;
    dist = rf.depth / 2 + 0.35 + stacked + f.depth / 2;
    dx = fx;
    dz = fz;
  } else {  // behind
    for (const auto* n : others) stacked += footprint(n->type).depth + k_gap;
    dist = rf.depth / 2 + k_gap + stacked + f.depth / 2;
    dx = -fx;
    dz = -fz;
  }
  o.x = r.x + dx * dist;
  o.z = r.z + dz * dist;
  o.rotation = r.rotation;
  o.anchor = key;
  clamp_into_room(s.room, o);
  return o;
}

SceneChange apply_action(SceneModel& scene, const json& action) {
  std::string name;
  json args;
  split_action(action, name, args);
  SceneModel s = scene;  // work on a copy: a failure leaves the scene unchanged
  SceneChange change;
  change.action = name;

  auto style_arg = [&](bool required_valid) {
    std::string raw = str_arg(args, {"style"});
    if (raw.empty()) return std::string();
    std::string st = canonical_style(raw);
    if (st.empty() && required_valid)
      fail(ErrorCode::invalid_argument, "scene: unknown style '", raw, "' (styles: ", join(style_names()), ")");
    return st;
  };

  if (name == "place_furniture") {
    std::string raw_type = str_arg(args, {"type", "furniture", "item", "object"});
    std::string type = canonical_type(raw_type);
    if (type.empty())
      fail(ErrorCode::invalid_argument, "scene: unknown furniture type '", raw_type, "' (types: ", join(furniture_types()), ")");
    std::string style = style_arg(true);
    if (style.empty()) style = s.room_style;
    const json* pos = find_arg(args, {"position", "anchor", "location", "where", "place"});
    json position = pos ? *pos : json();
    if (position.is_null() && args.contains("x") && args.contains("z")) position = {{"x", args["x"]}, {"z", args["z"]}};
    int count = 1;
    if (const json* c = find_arg(args, {"count", "number", "quantity"}); c && c->is_number_integer())
      count = static_cast<int>(std::clamp<long long>(c->get<long long>(), 1, 8));
    std::string color = "";
    if (std::string raw = str_arg(args, {"color", "colour"}); !raw.empty()) color = parse_color(raw);
    for (int i = 0; i < count; ++i) {
      SceneObject o = resolve_placement(s, type, position, "");
      o.id = type + "_" + std::to_string(s.next_serial++);
      o.style = style;
      o.color = color;
      if (const json* rot = find_arg(args, {"rotation", "angle"}); rot && rot->is_number()) o.rotation = rot->get<double>();
      s.objects.push_back(o);
      if (type == "lamp") {
        s.lights.push_back({o.id, true, "#ffd9a0", 0.7});
        change.changes.push_back({{"op", "light"}, {"light", light_json(s.lights.back())}});
      }
      change.changes.push_back({{"op", "add"}, {"object", object_json(o)}});
      change.summary = "placed " + style + " " + type + (o.anchor.empty() ? " at coordinates" : " at " + o.anchor);
    }
  } else if (name == "move_furniture") {
    std::string target = str_arg(args, {"target", "id", "object", "furniture", "item", "type"});
    auto found = find_targets(s, target, style_arg(false), false);
    if (found.empty()) fail(ErrorCode::not_found, "scene: nothing called '", target, "' to move");
    const json* pos = find_arg(args, {"position", "anchor", "location", "where", "to", "place"});
    json position = pos ? *pos : json();
    if (position.is_null() && args.contains("x") && args.contains("z")) position = {{"x", args["x"]}, {"z", args["z"]}};
    if (position.is_null()) fail(ErrorCode::invalid_argument, "scene: move_furniture needs a position");
    SceneObject& o = s.objects[found[0]];
    SceneObject placed = resolve_placement(s, o.type, position, o.id);
    o.x = placed.x;
    o.z = placed.z;
    o.rotation = placed.rotation;
    o.anchor = placed.anchor;
    if (const json* rot = find_arg(args, {"rotation", "angle"}); rot && rot->is_number()) o.rotation = rot->get<double>();
    change.changes.push_back({{"op", "update"}, {"object", object_json(o)}});
    change.summary = "moved " + o.id + (o.anchor.empty() ? " to coordinates" : " to " + o.anchor);
  } else if (name == "remove_furniture") {
    std::string target = str_arg(args, {"target", "id", "object", "furniture", "item", "type"});
    bool all = false;
    if (const json* a = find_arg(args, {"all"})) parse_bool_word(*a, all);
    auto found = find_targets(s, target, style_arg(false), all);
    if (found.empty()) fail(ErrorCode::not_found, "scene: nothing called '", target, "' to remove");
    std::sort(found.rbegin(), found.rend());
    for (int i : found) {
      std::string id = s.objects[i].id;
      s.objects.erase(s.objects.begin() + i);
      s.lights.erase(std::remove_if(s.lights.begin(), s.lights.end(), [&](const SceneLight& l) { return l.id == id; }), s.lights.end());
      change.changes.push_back({{"op", "remove"}, {"id", id}});
    }
    change.summary = "removed " + std::to_string(found.size()) + " object" + (found.size() == 1 ? "" : "s");
  } else if (name == "set_style") {
    std::string style = style_arg(true);
    if (style.empty()) fail(ErrorCode::invalid_argument, "scene: set_style needs a style (", join(style_names()), ")");
    std::string target = str_arg(args, {"target", "id", "object", "furniture", "item", "type"});
    std::vector<int> found;
    if (target.empty() || target == "room" || target == "all" || target == "everything") {
      s.room_style = style;
      change.changes.push_back({{"op", "style"}, {"style", style}});
      for (size_t i = 0; i < s.objects.size(); ++i) found.push_back(static_cast<int>(i));
    } else {
      found = find_targets(s, target, "", true);
      if (found.empty()) fail(ErrorCode::not_found, "scene: nothing called '", target, "' to restyle");
    }
    for (int i : found) {
      s.objects[i].style = style;
      change.changes.push_back({{"op", "update"}, {"object", object_json(s.objects[i])}});
    }
    change.summary = "style " + style + (target.empty() ? "" : " for " + target);
  } else if (name == "set_light") {
    std::string target = lower(str_arg(args, {"light", "target", "id", "name", "room"}));
    std::vector<SceneLight*> lights;
    for (auto& l : s.lights) {
      bool match = target.empty() || target == "all" || target == "lights" || target == "room" || l.id == target ||
                   (target == "main" && l.id == "ceiling") || (target == "lamp" && l.id.rfind("lamp_", 0) == 0) ||
                   (target == "lamps" && l.id.rfind("lamp_", 0) == 0) || (target.find("ceiling") != std::string::npos && l.id == "ceiling");
      if (match) lights.push_back(&l);
    }
    if (lights.empty()) fail(ErrorCode::not_found, "scene: no light called '", target, "'");
    bool any = false;
    for (SceneLight* l : lights) {
      if (const json* on = find_arg(args, {"on", "state", "power", "switch"})) {
        bool v;
        if (!parse_bool_word(*on, v)) fail(ErrorCode::invalid_argument, "scene: light state must be on or off, got ", on->dump());
        l->on = v;
        any = true;
      }
      if (std::string raw = str_arg(args, {"color", "colour"}); !raw.empty()) {
        std::string c = parse_color(raw);
        if (c.empty()) fail(ErrorCode::invalid_argument, "scene: unknown light colour '", raw, "'");
        l->color = c;
        any = true;
      }
      if (const json* b = find_arg(args, {"brightness", "level", "intensity"})) {
        double v = 0;
        if (b->is_number()) v = b->get<double>();
        else if (b->is_string()) {
          std::string bs = b->get<std::string>();
          if (bs.empty() || !std::isdigit(static_cast<unsigned char>(bs[0]))) fail(ErrorCode::invalid_argument, "scene: brightness must be a number, got '", bs, "'");
          v = std::stod(bs);
        } else fail(ErrorCode::invalid_argument, "scene: brightness must be a number");
        if (v > 1.0) v /= 100.0;  // percent
        l->brightness = std::clamp(v, 0.0, 1.0);
        if (l->brightness > 0) l->on = true;
        any = true;
      }
      change.changes.push_back({{"op", "light"}, {"light", light_json(*l)}});
    }
    if (!any) fail(ErrorCode::invalid_argument, "scene: set_light needs on, color or brightness");
    change.summary = "light " + (target.empty() ? std::string("all") : target) + (lights[0]->on ? " on" : " off");
  } else if (name == "camera_view") {
    std::string raw = str_arg(args, {"view", "camera", "preset", "angle", "position"});
    std::string view = canonical_camera(raw);
    if (view.empty()) fail(ErrorCode::invalid_argument, "scene: unknown camera view '", raw, "' (views: ", join(camera_views()), ")");
    s.camera = view;
    change.changes.push_back({{"op", "camera"}, {"view", view}});
    change.summary = "camera " + view;
  } else if (name == "clear_scene") {
    s.objects.clear();
    s.lights.erase(std::remove_if(s.lights.begin(), s.lights.end(), [](const SceneLight& l) { return l.id.rfind("lamp_", 0) == 0; }),
                   s.lights.end());
    change.changes.push_back({{"op", "clear"}});
    change.summary = "cleared the room";
  } else {
    fail(ErrorCode::not_found, "scene: unknown scene action '", name,
         "' (place_furniture, move_furniture, remove_furniture, set_style, set_light, camera_view, clear_scene)");
  }
  s.revision = scene.revision + 1;
  scene = std::move(s);
  return change;
}

}  // namespace omni::agent::scene
