// Tests of the 3D scene model: word canonicalisation, anchor placement geometry (checked against the
// room's hand-computed walls), object lookup, lights, camera, styles and error handling.
#include <gtest/gtest.h>

#include <cmath>

#include "agent/scene/scene_model.hpp"
#include "omni/error.hpp"

using namespace omni::agent::scene;

namespace {

json place(SceneModel& s, const std::string& type, const json& position, const std::string& style = "") {
  json a = {{"action", "place_furniture"}, {"type", type}, {"position", position}};
  if (!style.empty()) a["style"] = style;
  return apply_action(s, a).changes;
}

const SceneObject& last(const SceneModel& s) { return s.objects.back(); }

// True when the object's footprint lies inside the room's floor.
bool inside_room(const SceneModel& s, const SceneObject& o) {
  Footprint f = footprint(o.type);
  double r = o.rotation * M_PI / 180;
  double ex = std::fabs(std::cos(r)) * f.width / 2 + std::fabs(std::sin(r)) * f.depth / 2;
  double ez = std::fabs(std::sin(r)) * f.width / 2 + std::fabs(std::cos(r)) * f.depth / 2;
  return o.x - ex >= -s.room.width / 2 - 1e-9 && o.x + ex <= s.room.width / 2 + 1e-9 &&
         o.z - ez >= -s.room.depth / 2 - 1e-9 && o.z + ez <= s.room.depth / 2 + 1e-9;
}

// Axis-aligned overlap of two objects' footprints (all rotations here are multiples of 90 degrees).
bool overlap(const SceneObject& a, const SceneObject& b) {
  auto ext = [](const SceneObject& o, double& ex, double& ez) {
    Footprint f = footprint(o.type);
    bool turned = std::fmod(std::fabs(o.rotation), 180.0) == 90.0;
    ex = (turned ? f.depth : f.width) / 2;
    ez = (turned ? f.width : f.depth) / 2;
  };
  double ax, az, bx, bz;
  ext(a, ax, az);
  ext(b, bx, bz);
  return std::fabs(a.x - b.x) < ax + bx - 1e-9 && std::fabs(a.z - b.z) < az + bz - 1e-9;
}

}  // namespace

TEST(SceneWords, CanonicalTypes) {
  EXPECT_EQ(canonical_type("sofa"), "sofa");
  EXPECT_EQ(canonical_type("a big Couch"), "sofa");
  EXPECT_EQ(canonical_type("Coffee Table"), "coffee_table");
  EXPECT_EQ(canonical_type("coffee_table"), "coffee_table");
  EXPECT_EQ(canonical_type("table"), "dining_table");
  EXPECT_EQ(canonical_type("armchair"), "armchair");
  EXPECT_EQ(canonical_type("arm chair"), "armchair");
  EXPECT_EQ(canonical_type("chairs"), "chair");
  EXPECT_EQ(canonical_type("bookcase"), "shelf");
  EXPECT_EQ(canonical_type("carpet"), "rug");
  EXPECT_EQ(canonical_type("沙发"), "sofa");
  EXPECT_EQ(canonical_type("单人沙发"), "armchair");
  EXPECT_EQ(canonical_type("落地灯"), "lamp");
  EXPECT_EQ(canonical_type("sofa_12"), "sofa");
  EXPECT_EQ(canonical_type("spaceship"), "");
  EXPECT_EQ(canonical_type(""), "");
}

TEST(SceneWords, CanonicalStylesAndViews) {
  EXPECT_EQ(canonical_style("Nordic"), "nordic");
  EXPECT_EQ(canonical_style("scandinavian"), "nordic");
  EXPECT_EQ(canonical_style("北欧"), "nordic");
  EXPECT_EQ(canonical_style("loft"), "industrial");
  EXPECT_EQ(canonical_style("Japandi"), "japanese");
  EXPECT_EQ(canonical_style("traditional"), "classic");
  EXPECT_EQ(canonical_style("gothic"), "");
  EXPECT_EQ(canonical_camera("top down"), "top");
  EXPECT_EQ(canonical_camera("bird's eye"), "top");
  EXPECT_EQ(canonical_camera("front"), "front");
  EXPECT_EQ(canonical_camera("reset"), "overview");
  EXPECT_EQ(canonical_camera("underwater"), "");
}

TEST(SceneWords, CanonicalAnchors) {
  EXPECT_EQ(canonical_anchor("window"), "window");
  EXPECT_EQ(canonical_anchor("by the window"), "window");
  EXPECT_EQ(canonical_anchor("near the window"), "window");
  EXPECT_EQ(canonical_anchor("next to the window"), "window");
  EXPECT_EQ(canonical_anchor("窗边"), "window");
  EXPECT_EQ(canonical_anchor("by the door"), "door");
  EXPECT_EQ(canonical_anchor("in the corner"), "corner");
  EXPECT_EQ(canonical_anchor("back left corner"), "corner_back_left");
  EXPECT_EQ(canonical_anchor("front right corner"), "corner_front_right");
  EXPECT_EQ(canonical_anchor("in the centre"), "centre");
  EXPECT_EQ(canonical_anchor("center"), "centre");
  EXPECT_EQ(canonical_anchor("middle of the room"), "centre");
  EXPECT_EQ(canonical_anchor("against the left wall"), "left_wall");
  EXPECT_EQ(canonical_anchor("left of the sofa"), "left_of:sofa");
  EXPECT_EQ(canonical_anchor("to the right of the bed"), "right_of:bed");
  EXPECT_EQ(canonical_anchor("left_of_sofa"), "left_of:sofa");
  EXPECT_EQ(canonical_anchor("right_of:sofa_3"), "right_of:sofa_3");
  EXPECT_EQ(canonical_anchor("in front of the couch"), "in_front_of:sofa");
  EXPECT_EQ(canonical_anchor("behind the armchair"), "behind:armchair");
  EXPECT_EQ(canonical_anchor("next to the lamp"), "next_to:lamp");
  EXPECT_EQ(canonical_anchor("沙发左边"), "left_of:sofa");
  EXPECT_EQ(canonical_anchor("on the moon"), "");
  EXPECT_EQ(canonical_anchor("left of the unicorn"), "");
}

TEST(SceneModel, DefaultSceneIsEmptyWithLights) {
  SceneModel s = default_scene();
  EXPECT_TRUE(s.objects.empty());
  ASSERT_EQ(s.lights.size(), 2u);
  EXPECT_EQ(s.lights[0].id, "ceiling");
  EXPECT_TRUE(s.lights[0].on);
  EXPECT_EQ(s.camera, "overview");
  EXPECT_EQ(s.revision, 0);
}

TEST(SceneModel, NordicSofaByTheWindow) {
  SceneModel s = default_scene();
  json changes = place(s, "sofa", "by the window", "Nordic");
  ASSERT_EQ(s.objects.size(), 1u);
  const SceneObject& o = last(s);
  EXPECT_EQ(o.id, "sofa_1");
  EXPECT_EQ(o.type, "sofa");
  EXPECT_EQ(o.style, "nordic");
  EXPECT_EQ(o.anchor, "window");
  // Centred on the window (x = -1.2), back against the back wall (z = -2.5) plus 6 cm, so its
  // centre is half its 0.9 m depth further in: -2.5 + 0.06 + 0.45 = -1.99; facing into the room.
  EXPECT_NEAR(o.x, s.room.window_x, 1e-9);
  EXPECT_NEAR(o.z, -2.5 + 0.06 + 0.45, 1e-9);
  EXPECT_NEAR(o.rotation, 0, 1e-9);
  EXPECT_EQ(s.revision, 1);
  ASSERT_EQ(changes.size(), 1u);
  EXPECT_EQ(changes[0]["op"], "add");
  EXPECT_EQ(changes[0]["object"]["id"], "sofa_1");
}

TEST(SceneModel, DefaultStyleIsTheRoomStyle) {
  SceneModel s = default_scene();
  apply_action(s, {{"action", "set_style"}, {"style", "japanese"}});
  place(s, "plant", "corner");
  EXPECT_EQ(last(s).style, "japanese");
}

TEST(SceneModel, NeighboursAtOneAnchorDoNotOverlap) {
  SceneModel s = default_scene();
  place(s, "sofa", "window");
  place(s, "plant", "window");
  place(s, "lamp", "window");
  place(s, "shelf", "door");
  place(s, "chair", "door");
  place(s, "armchair", "corner");
  place(s, "plant", "corner");
  place(s, "dining_table", "centre");
  place(s, "rug", "centre");  // rugs lie under furniture: allowed to overlap it
  for (size_t i = 0; i < s.objects.size(); ++i) {
    EXPECT_TRUE(inside_room(s, s.objects[i])) << s.objects[i].id;
    for (size_t j = i + 1; j < s.objects.size(); ++j) {
      if (s.objects[i].type == "rug" || s.objects[j].type == "rug") continue;
      EXPECT_FALSE(overlap(s.objects[i], s.objects[j])) << s.objects[i].id << " overlaps " << s.objects[j].id;
    }
  }
  // The rug sits exactly on the centre anchor even though a table is already there.
  EXPECT_NEAR(last(s).x, 0.0, 1e-9);
}

TEST(SceneModel, DoorAnchorKeepsTheDoorwayFree) {
  SceneModel s = default_scene();
  place(s, "shelf", "by the door");
  const SceneObject& o = last(s);
  // Against the right wall (x = 3), turned to face -x; its extent along z (its 0.9 m width) must end
  // before the door opening starts at door_z - door_width/2 = 0.75.
  EXPECT_NEAR(o.rotation, -90, 1e-9);
  EXPECT_NEAR(o.x, 3 - 0.06 - 0.35 / 2, 1e-9);
  EXPECT_LE(o.z + 0.9 / 2, s.room.door_z - s.room.door_width / 2);
}

TEST(SceneModel, RelativeAnchors) {
  SceneModel s = default_scene();
  place(s, "sofa", "centre");
  const SceneObject sofa = last(s);
  place(s, "lamp", "left of the sofa");
  const SceneObject lamp = last(s);
  EXPECT_EQ(lamp.anchor, "left_of:sofa_1");
  // The sofa faces +z (towards the viewer), so its left as seen from the front is -x:
  // 2.1/2 + 0.12 + 0.4/2 = 1.37 m to the left.
  EXPECT_NEAR(lamp.x, sofa.x - 1.37, 1e-9);
  EXPECT_NEAR(lamp.z, sofa.z, 1e-9);
  place(s, "plant", "right of the sofa");
  EXPECT_NEAR(last(s).x, sofa.x + 2.1 / 2 + 0.12 + 0.5 / 2, 1e-9);
  place(s, "coffee table", "in front of the sofa");
  EXPECT_NEAR(last(s).x, sofa.x, 1e-9);
  EXPECT_NEAR(last(s).z, sofa.z + 0.45 + 0.35 + 0.3, 1e-9);
  // A second lamp to the left of the sofa goes beyond the first.
  place(s, "lamp", "left_of_sofa");
  EXPECT_NEAR(last(s).x, lamp.x - 0.4 - 0.12, 1e-9);
}

TEST(SceneModel, RelativeToAMissingObjectFailsAndLeavesSceneUnchanged) {
  SceneModel s = default_scene();
  place(s, "sofa", "window");
  json before = to_json(s);
  try {
    place(s, "lamp", "left of the bed");
    FAIL() << "expected an error";
  } catch (const omni::Error& e) {
    EXPECT_EQ(e.code(), omni::ErrorCode::not_found);
    EXPECT_NE(std::string(e.what()).find("bed"), std::string::npos);
  }
  EXPECT_EQ(to_json(s), before);
}

TEST(SceneModel, CoordinatesAreClampedIntoTheRoom) {
  SceneModel s = default_scene();
  place(s, "chair", {{"x", 1.5}, {"z", -1.0}});
  EXPECT_NEAR(last(s).x, 1.5, 1e-9);
  EXPECT_NEAR(last(s).z, -1.0, 1e-9);
  EXPECT_EQ(last(s).anchor, "");
  place(s, "bed", "10, 10");
  EXPECT_TRUE(inside_room(s, last(s)));
  EXPECT_NEAR(last(s).x, 3 - 0.8, 1e-9);
  EXPECT_NEAR(last(s).z, 2.5 - 1.025, 1e-9);
}

TEST(SceneModel, MoveRemoveByTypeAndId) {
  SceneModel s = default_scene();
  place(s, "sofa", "window", "nordic");
  place(s, "armchair", "corner");
  apply_action(s, {{"action", "move_furniture"}, {"target", "sofa"}, {"position", "left wall"}});
  EXPECT_EQ(s.objects[0].anchor, "left_wall");
  EXPECT_NEAR(s.objects[0].rotation, 90, 1e-9);
  EXPECT_NEAR(s.objects[0].x, -3 + 0.06 + 0.45, 1e-9);
  apply_action(s, {{"action", "remove_furniture"}, {"target", "armchair_2"}});
  ASSERT_EQ(s.objects.size(), 1u);
  EXPECT_EQ(s.objects[0].id, "sofa_1");
  EXPECT_THROW(apply_action(s, {{"action", "remove_furniture"}, {"target", "bed"}}), omni::Error);
  EXPECT_THROW(apply_action(s, {{"action", "move_furniture"}, {"target", "sofa"}}), omni::Error);
  EXPECT_EQ(s.revision, 4);
}

TEST(SceneModel, ArgumentsNestedOrAsJsonString) {
  SceneModel s = default_scene();
  apply_action(s, {{"name", "place_furniture"}, {"arguments", {{"type", "bed"}, {"position", "centre"}, {"style", "classic"}}}});
  apply_action(s, {{"name", "place_furniture"}, {"arguments", R"({"type":"rug","position":"centre"})"}});
  ASSERT_EQ(s.objects.size(), 2u);
  EXPECT_EQ(s.objects[0].style, "classic");
  EXPECT_EQ(s.objects[1].type, "rug");
}

TEST(SceneModel, LightsOnOffColourBrightness) {
  SceneModel s = default_scene();
  place(s, "lamp", "corner");
  ASSERT_EQ(s.lights.size(), 3u);
  EXPECT_EQ(s.lights[2].id, "lamp_1");
  apply_action(s, {{"action", "set_light"}, {"on", false}});
  for (const auto& l : s.lights) EXPECT_FALSE(l.on) << l.id;
  apply_action(s, {{"action", "set_light"}, {"light", "lamp"}, {"color", "blue"}, {"brightness", 40}});
  EXPECT_EQ(s.lights[2].color, "#4a7dff");
  EXPECT_NEAR(s.lights[2].brightness, 0.4, 1e-9);
  EXPECT_TRUE(s.lights[2].on);   // brightness above zero switches it on
  EXPECT_FALSE(s.lights[0].on);  // the ceiling was not addressed
  apply_action(s, {{"action", "set_light"}, {"light", "ceiling"}, {"state", "on"}, {"color", "#abc"}});
  EXPECT_TRUE(s.lights[0].on);
  EXPECT_EQ(s.lights[0].color, "#aabbcc");
  EXPECT_THROW(apply_action(s, {{"action", "set_light"}, {"light", "ceiling"}, {"color", "plaid"}}), omni::Error);
  EXPECT_THROW(apply_action(s, {{"action", "set_light"}, {"light", "ceiling"}}), omni::Error);
  EXPECT_THROW(apply_action(s, {{"action", "set_light"}, {"light", "porch"}, {"on", true}}), omni::Error);
  apply_action(s, {{"action", "remove_furniture"}, {"target", "lamp"}});
  EXPECT_EQ(s.lights.size(), 2u);  // the lamp's light left with it
}

TEST(SceneModel, StyleCameraClear) {
  SceneModel s = default_scene();
  place(s, "sofa", "window", "industrial");
  place(s, "chair", "door", "modern");
  apply_action(s, {{"action", "set_style"}, {"style", "classic"}, {"target", "chair"}});
  EXPECT_EQ(s.objects[0].style, "industrial");
  EXPECT_EQ(s.objects[1].style, "classic");
  apply_action(s, {{"action", "set_style"}, {"style", "japanese"}});
  EXPECT_EQ(s.room_style, "japanese");
  EXPECT_EQ(s.objects[0].style, "japanese");
  apply_action(s, {{"action", "camera_view"}, {"view", "top down"}});
  EXPECT_EQ(s.camera, "top");
  EXPECT_THROW(apply_action(s, {{"action", "camera_view"}, {"view", "sideways in time"}}), omni::Error);
  EXPECT_THROW(apply_action(s, {{"action", "set_style"}, {"style", "baroque pop"}}), omni::Error);
  apply_action(s, {{"action", "clear_scene"}});
  EXPECT_TRUE(s.objects.empty());
  EXPECT_EQ(s.camera, "top");
}

TEST(SceneModel, BadActionsAreErrorsNotCrashes) {
  SceneModel s = default_scene();
  const json bad[] = {json(42),
                      json::array(),
                      json::object(),
                      {{"action", "launch_rocket"}},
                      {{"action", "place_furniture"}},
                      {{"action", "place_furniture"}, {"type", "dragon"}},
                      {{"action", "place_furniture"}, {"type", "sofa"}, {"position", "on the ceiling"}},
                      {{"action", "place_furniture"}, {"type", "sofa"}, {"position", 7}},
                      {{"action", "place_furniture"}, {"type", "sofa"}, {"style", "cyberpunk"}},
                      {{"action", "place_furniture"}, {"arguments", "{not json"}},
                      {{"action", "set_light"}, {"brightness", "bright"}},
                      {{"action", "set_light"}, {"on", "maybe"}},
                      {{"action", "move_furniture"}, {"target", "sofa"}, {"position", "window"}}};
  for (const auto& a : bad) {
    EXPECT_THROW(apply_action(s, a), omni::Error) << a.dump();
  }
  EXPECT_EQ(s.revision, 0);
  EXPECT_TRUE(s.objects.empty());
}

TEST(SceneModel, JsonRoundTrip) {
  SceneModel s = default_scene();
  place(s, "sofa", "window", "nordic");
  place(s, "lamp", "left of the sofa");
  apply_action(s, {{"action", "set_light"}, {"light", "ceiling"}, {"brightness", 0.3}});
  apply_action(s, {{"action", "camera_view"}, {"view", "front"}});
  json j = to_json(s);
  EXPECT_EQ(j["objects"].size(), 2u);
  EXPECT_EQ(j["room"]["width"], 6.0);
  EXPECT_TRUE(j["anchors"].contains("window"));
  SceneModel back = scene_from_json(j);
  EXPECT_EQ(to_json(back), j);
  // New ids continue after a round trip.
  place(back, "plant", "corner");
  EXPECT_EQ(last(back).id, "plant_3");
  EXPECT_THROW(scene_from_json(json::object()), omni::Error);
  json wrong = j;
  wrong["objects"][0]["type"] = "spaceship";
  EXPECT_THROW(scene_from_json(wrong), omni::Error);
}

// The demo catalog's argument names (type / position / state / color / brightness 0-100 / preset).
TEST(SceneModel, DemoCatalogArgumentShapes) {
  SceneModel s = default_scene();
  apply_action(s, {{"action", "place_furniture"}, {"type", "sofa"}, {"style", "nordic"}, {"position", "window"}});
  apply_action(s, {{"action", "place_furniture"}, {"type", "lamp"}, {"position", "left_of_sofa"}});
  apply_action(s, {{"action", "place_furniture"}, {"type", "plant"}, {"position", {{"x", 2.0}, {"z", 1.0}}}});
  apply_action(s, {{"action", "place_furniture"}, {"type", "shelf"}, {"position", "wall"}});
  EXPECT_EQ(s.objects[1].anchor, "left_of:sofa_1");
  EXPECT_NEAR(s.objects[2].x, 2.0, 1e-9);
  EXPECT_EQ(s.objects[3].anchor, "back_wall");
  apply_action(s, {{"action", "move_furniture"}, {"type", "plant"}, {"position", "corner"}});
  EXPECT_EQ(s.objects[2].anchor, "corner");
  apply_action(s, {{"action", "set_style"}, {"style", "industrial"}, {"type", "sofa"}});
  EXPECT_EQ(s.objects[0].style, "industrial");
  EXPECT_EQ(s.objects[3].style, "modern");
  apply_action(s, {{"action", "set_light"}, {"state", "on"}, {"color", "warm_white"}, {"brightness", 30}});
  for (const auto& l : s.lights) {
    EXPECT_EQ(l.color, "#ffd8a8") << l.id;
    EXPECT_NEAR(l.brightness, 0.3, 1e-9);
  }
  apply_action(s, {{"action", "set_light"}, {"state", "off"}});
  for (const auto& l : s.lights) EXPECT_FALSE(l.on);
  apply_action(s, {{"action", "camera_view"}, {"preset", "corner"}});
  EXPECT_EQ(s.camera, "corner");
  apply_action(s, {{"action", "remove_furniture"}, {"type", "lamp"}});
  EXPECT_EQ(s.objects.size(), 3u);
  apply_action(s, {{"action", "clear_scene"}});
  EXPECT_TRUE(s.objects.empty());
}
