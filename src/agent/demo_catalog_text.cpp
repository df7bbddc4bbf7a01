// The built-in demo catalog: a byte-for-byte copy of catalogs/demo.yaml, so `omni` works from any
// path without its source tree. Regenerate with: python3 src/agent/embed_demo_catalog.py
// (test_agent fails when the copy is stale).
#include "agent/catalog.hpp"

namespace omni::agent {

const std::string& Catalog::demo_text() {
  static const std::string text = R"OMNI_YAML(# Omni demo action catalog: smart-home devices, sharing, and the 3D room scene of the console.
# Format: see src/agent/catalog.hpp. Templates: (a|b) alternatives, [x] optional, {slot} / {arg:list}.
name: demo
fillers: [please, can you, could you, would you, will you, i want to, i'd like to, id like to, i want you to,
          hey omni, omni, ok, okay, just, now, um, uh, for me, kindly, go ahead and, 请, 帮我, 帮忙, 麻烦, 麻烦你,
          给我, 一下, 吧, 呢, 啊, 呀, 哦, 嗯, 了, 你, 能不能, 可以, 能, 可不可以, 我想, 我要, 现在]
lists:
  room:
    - {value: living_room, phrases: [living room, lounge, 客厅]}
    - {value: bedroom, phrases: [bedroom, 卧室, 睡房]}
    - {value: kitchen, phrases: [kitchen, 厨房]}
    - {value: bathroom, phrases: [bathroom, 浴室, 卫生间, 洗手间]}
    - {value: office, phrases: [office, study, 书房, 办公室]}
    - {value: dining_room, phrases: [dining room, 餐厅]}
    - {value: hallway, phrases: [hallway, hall, corridor, 走廊, 过道]}
    - {value: all, phrases: [all, all the, every, whole house, 所有, 全部, 所有的, 全屋]}
  onoff:
    - {value: "on", phrases: ["on"]}
    - {value: "off", phrases: ["off"]}
  color:
    - {value: red, phrases: [red, 红, 红色]}
    - {value: green, phrases: [green, 绿, 绿色]}
    - {value: blue, phrases: [blue, 蓝, 蓝色]}
    - {value: yellow, phrases: [yellow, 黄, 黄色]}
    - {value: purple, phrases: [purple, violet, 紫, 紫色]}
    - {value: orange, phrases: [orange, 橙, 橙色]}
    - {value: pink, phrases: [pink, 粉, 粉色, 粉红色]}
    - {value: white, phrases: [white, 白, 白色, 白光]}
    - {value: warm_white, phrases: [warm white, warm, 暖白, 暖白色, 暖光, 暖色]}
    - {value: cool_white, phrases: [cool white, cool, cold, 冷白, 冷光, 冷色]}
  camera:
    - {value: front_door, phrases: [front door, door, doorbell, entrance, 门口, 大门, 前门]}
    - {value: backyard, phrases: [backyard, back yard, garden, yard, 后院, 花园]}
    - {value: garage, phrases: [garage, 车库]}
    - {value: living_room, phrases: [living room, 客厅]}
    - {value: baby_room, phrases: [baby room, nursery, kids room, 婴儿房, 儿童房]}
  time_unit:
    - {value: seconds, phrases: [second, seconds, sec, secs, 秒, 秒钟]}
    - {value: minutes, phrases: [minute, minutes, min, mins, 分钟, 分]}
    - {value: hours, phrases: [hour, hours, hr, hrs, 小时, 个小时, 钟头, 个钟头]}
  share_target:
    - {value: current_table, phrases: [table, spreadsheet, sheet, excel, 表格, 表, 表单, 报表]}
    - {value: current_document, phrases: [document, doc, file, report, 文档, 文件, 报告]}
    - {value: current_image, phrases: [picture, image, photo, pic, 图片, 照片, 图]}
    - {value: current_screen, phrases: [screen, screenshot, page, 屏幕, 截图, 页面]}
    - {value: current_link, phrases: [link, url, 链接, 网址]}
  door:
    - {value: front, phrases: [front, front door, main, 前门, 大门]}
    - {value: back, phrases: [back, back door, 后门]}
    - {value: garage, phrases: [garage, garage door, 车库, 车库门]}
  furniture:
    - {value: sofa, phrases: [sofa, couch, settee, 沙发]}
    - {value: armchair, phrases: [armchair, arm chair, lounge chair, 扶手椅, 单人沙发]}
    - {value: coffee_table, phrases: [coffee table, tea table, 茶几, 咖啡桌]}
    - {value: dining_table, phrases: [dining table, dinner table, kitchen table, 餐桌, 饭桌]}
    - {value: chair, phrases: [chair, stool, 椅子, 凳子]}
    - {value: bed, phrases: [bed, 床]}
    - {value: lamp, phrases: [lamp, floor lamp, table lamp, 台灯, 落地灯, 灯具]}
    - {value: shelf, phrases: [shelf, bookshelf, bookcase, shelves, 书架, 架子, 置物架]}
    - {value: plant, phrases: [plant, potted plant, houseplant, flower, 植物, 绿植, 盆栽, 花]}
    - {value: rug, phrases: [rug, carpet, mat, 地毯]}
  style:
    - {value: nordic, phrases: [nordic, scandinavian, scandi, 北欧]}
    - {value: industrial, phrases: [industrial, loft, 工业, 工业风]}
    - {value: modern, phrases: [modern, contemporary, minimalist, 现代, 现代简约, 简约]}
    - {value: classic, phrases: [classic, classical, traditional, vintage, 古典, 经典, 复古, 欧式]}
    - {value: japanese, phrases: [japanese, japandi, zen, 日式, 日系, 和风]}
  anchor:
    - {value: window, phrases: [window, the window, 窗边, 窗户边, 窗户旁边, 窗前, 窗户前面, 窗口, 靠窗]}
    - {value: door, phrases: [door, the door, entrance, 门口, 门边, 门旁边]}
    - {value: corner, phrases: [corner, the corner, 角落, 墙角, 角落里]}
    - {value: centre, phrases: [centre, center, middle, the centre, the center, the middle, centre of the room, center of the room, middle of the room, 中间, 中央, 房间中间, 正中间]}
    - {value: left_of_sofa, phrases: [left of the sofa, left of the couch, the left of the sofa, sofa's left, 沙发左边, 沙发的左边, 沙发左侧]}
    - {value: right_of_sofa, phrases: [right of the sofa, right of the couch, the right of the sofa, sofa's right, 沙发右边, 沙发的右边, 沙发右侧]}
    - {value: wall, phrases: [wall, the wall, 墙边, 靠墙, 墙角边]}
  view:
    - {value: top, phrases: [top, top down, top-down, overhead, above, birds eye, bird's eye, 俯视, 顶部, 上方, 顶视]}
    - {value: front, phrases: [front, 正面, 前面, 前方]}
    - {value: corner, phrases: [corner, 角落, 斜角]}
    - {value: window, phrases: [window, 窗户, 窗边]}
actions:
  - name: light
    description: Switch a home light on or off, change its colour or brightness.
    parameters:
      type: object
      properties:
        room: {enum: [living_room, bedroom, kitchen, bathroom, office, dining_room, hallway, all]}
        state: {enum: ["on", "off"]}
        color: {enum: [red, green, blue, yellow, purple, orange, pink, white, warm_white, cool_white]}
        brightness: {type: integer, minimum: 0, maximum: 100}
    templates:
      - "(turn|switch) {state:onoff} [the] [{room}] (light|lights|lamp|lamps)"
      - "(turn|switch) [the] [{room}] (light|lights|lamp|lamps) {state:onoff}"
      - "[{room}] (light|lights) {state:onoff}"
      - {text: "(set|make|change|turn) [the] [{room}] (light|lights) [to] {color}", set: {state: "on"}}
      - {text: "(set|dim|change) [the] [{room}] (light|lights) [brightness] to {brightness:number} [percent]", set: {state: "on"}}
      - {text: "(打开|开|开启|打开了)[{room}][的](灯|电灯|灯光)", set: {state: "on"}}
      - {text: "(关|关掉|关闭|关上)[{room}][的](灯|电灯|灯光)", set: {state: "off"}}
      - {text: "把[{room}][的](灯|电灯|灯光)(打开|开开|开|开启)", set: {state: "on"}}
      - {text: "把[{room}][的](灯|电灯|灯光)(关掉|关闭|关上|关)", set: {state: "off"}}
      - {text: "把[{room}][的](灯|灯光)(调成|换成|变成|设为|改成){color}[的]", set: {state: "on"}}
      - {text: "把[{room}][的](灯|灯光)[亮度](调到|调成|设为){brightness:number}(percent|度)", set: {state: "on"}}
    examples:
      - {utterance: "turn off the bedroom light", action: {action: light, room: bedroom, state: "off"}}
    executor: {type: log}
    reply: "OK, the {room} light is {state}."
    reply_zh: "好的，{room}的灯已{state}。"
  - name: fan
    description: Switch a fan on or off or set its speed (1-3).
    parameters:
      type: object
      properties:
        room: {enum: [living_room, bedroom, kitchen, bathroom, office, dining_room, hallway, all]}
        state: {enum: ["on", "off"]}
        speed: {type: integer, minimum: 1, maximum: 3}
    templates:
      - "(turn|switch) {state:onoff} [the] [{room}] (fan|fans)"
      - "(turn|switch) [the] [{room}] (fan|fans) {state:onoff}"
      - {text: "(set|turn) [the] [{room}] fan [speed] to {speed:number}", set: {state: "on"}}
      - {text: "(打开|开|开启)[{room}][的](风扇|电扇|电风扇)", set: {state: "on"}}
      - {text: "(关|关掉|关闭|关上)[{room}][的](风扇|电扇|电风扇)", set: {state: "off"}}
      - {text: "把[{room}][的](风扇|电扇|电风扇)(打开|开|开启)", set: {state: "on"}}
      - {text: "把[{room}][的](风扇|电扇|电风扇)(关掉|关闭|关上|关)", set: {state: "off"}}
      - {text: "把[{room}][的](风扇|电扇)(调到|开到)[{speed:number}](档|挡)", set: {state: "on"}}
    executor: {type: log}
    reply: "OK, the {room} fan is {state}."
  - name: thermostat
    description: Set the target temperature in degrees Celsius (16-30).
    parameters:
      type: object
      properties:
        room: {enum: [living_room, bedroom, kitchen, bathroom, office, dining_room, hallway, all]}
        temperature: {type: integer, minimum: 16, maximum: 30}
      required: [temperature]
    templates:
      - "(set|change|turn|put) [the] [{room}] (temperature|thermostat|heating|heat|ac|air conditioning|air conditioner) [in the {room}] to {temperature:number} [degrees|degree|celsius|degrees celsius]"
      - "make it {temperature:number} degrees [in the {room}]"
      - "(把)[{room}][的](温度|空调|暖气)(调到|设为|设置为|调成|设到|开到){temperature:number}(度|摄氏度)"
      - "[{room}](温度|空调)(调到|设为|设成){temperature:number}度"
    executor: {type: log}
    reply: "Setting the temperature to {temperature} degrees."
    reply_zh: "好的，温度设为{temperature}度。"
  - name: camera_snapshot
    description: Take a snapshot from a security camera.
    parameters:
      type: object
      properties:
        camera: {enum: [front_door, backyard, garage, living_room, baby_room]}
      required: [camera]
    templates:
      - "(take|grab|get|capture) [a] (snapshot|picture|photo|shot|image) (from|of|at) [the] {camera} [camera]"
      - "(show|show me) [the] {camera} camera"
      - "(what is|whats) (happening|going on) (at|in) [the] {camera}"
      - "[看看|看一下|查看]{camera}[的](摄像头|监控)"
      - "(拍|拍一张|截一张)[{camera}][的](照片|快照|画面)"
      - "{camera}(拍|拍一张|截一张)(照片|快照)"
    executor: {type: log}
    reply: "Here is the {camera} camera."
  - name: timer
    description: Start a countdown timer.
    parameters:
      type: object
      properties:
        duration: {type: integer, minimum: 1, maximum: 86400}
        unit: {enum: [seconds, minutes, hours]}
        label: {type: string, minLength: 1}
      required: [duration, unit]
    templates:
      - "(set|start|create|make) [a|an] timer (for|of) {duration:number} {unit:time_unit}"
      - "(set|start|create|make) [a|an] {duration:number} {unit:time_unit} timer"
      - "{duration:number} {unit:time_unit} timer"
      - "(set|start) [a] timer (for|of) {duration:number} {unit:time_unit} (for|called) [the] {label:text}"
      - "remind me in {duration:number} {unit:time_unit}"
      - "(设|设置|定|设定|开)[一个]{duration:number}{unit:time_unit}[的](定时器|计时器|倒计时|闹钟)"
      - "(定时|计时|倒计时){duration:number}{unit:time_unit}"
      - "{duration:number}{unit:time_unit}(后|以后|之后)(提醒我|叫我)"
    executor: {type: log}
    reply: "Timer set for {duration} {unit}."
    reply_zh: "好的，已设定{duration}{unit}的计时器。"
  - name: share
    description: Share or send what is on screen (a table, document, picture ...) with someone.
    parameters:
      type: object
      properties:
        target: {enum: [current_table, current_document, current_image, current_screen, current_link]}
        recipient: {type: string, minLength: 1}
      required: [target, recipient]
    templates:
      - "(share|send|forward|email|mail) [this|that|the|my] {target:share_target} (with|to) {recipient:text}"
      - "(share|send|forward|email) {recipient:text} [this|that|the] {target:share_target}"
      - "(把|将)[这个|这张|这份|这|那个|那份|那张|当前][的]{target:share_target}(发给|发送给|分享给|转给|转发给|传给|发送到|发到){recipient:text}"
      - "(发|分享|转发|发送)[这个|这张|这份|这]{target:share_target}给{recipient:text}"
      - "(发给|分享给|转发给|转给){recipient:text}[这个|这张|这份|这]{target:share_target}"
    examples:
      - {utterance: "把这个表格发给李经理", action: {action: share, target: current_table, recipient: "李经理"}}
      - {utterance: "share this table with Li", action: {action: share, target: current_table, recipient: "Li"}}
    executor: {type: log}
    reply: "Sharing the {target} with {recipient}."
    reply_zh: "好的，已把{target}发给{recipient}。"
  - name: door_lock
    description: Lock or unlock a door (unlocking asks for confirmation).
    parameters:
      type: object
      properties:
        door: {enum: [front, back, garage]}
        state: {enum: [locked, unlocked]}
      required: [door, state]
    templates:
      - {text: "unlock [the] {door} [door]", set: {state: unlocked}}
      - {text: "lock [the] {door} [door]", set: {state: locked}}
      - {text: "(打开|解锁)[{door}](门锁|的锁|锁)", set: {state: unlocked}}
      - {text: "(锁上|锁好|锁)[{door}]", set: {state: locked}}
      - {text: "把{door}(锁上|锁好|锁了)", set: {state: locked}}
      - {text: "(解锁|打开){door}", set: {state: unlocked}}
    confirm: true
    executor: {type: log}
    reply: "The {door} door is {state}."
  - name: place_furniture
    description: Put a new piece of furniture into the 3D room.
    parameters:
      type: object
      properties:
        type: {enum: [sofa, armchair, coffee_table, dining_table, chair, bed, lamp, shelf, plant, rug]}
        style: {enum: [nordic, industrial, modern, classic, japanese]}
        position:
          oneOf:
            - {enum: [window, door, corner, centre, left_of_sofa, right_of_sofa, wall]}
            - type: object
              properties: {x: {type: number}, z: {type: number}}
              required: [x, z]
              additionalProperties: false
      required: [type]
    templates:
      - "(put|place|add|set|drop|i need) (a|an|one|another) [{style}] [style] {type:furniture} [{style} style] [in {style} style]"
      - "(put|place|add|set|drop) (a|an|one|another) [{style}] [style] {type:furniture} [{style} style] [in {style} style] (by|near|next to|beside|at|in|into|to|against|on) [the] {position:anchor}"
      - "(put|place|add|set|drop) (a|an|one|another) [{style}] [style] {type:furniture} (at|to) [position|x] {position.x:number} [and|z] {position.z:number}"
      - "(add|put|place) (a|an|one) {style} style {type:furniture} [(by|near|next to|at|in) [the] {position:anchor}]"
      - "(can i have|i want|give me|lets have|let's have|let us add) (a|an|one) [{style}] [style] {type:furniture} [(by|near|next to|at|in) [the] {position:anchor}]"
      - "(在|往){position:anchor}(放|摆|加|添|放置|添加|摆放)[一个|一张|一把|一盏|一盆|一块|个|张|把][{style}][风格|风|式][的]{type:furniture}"
      - "(放|摆|加|添|放置|添加|摆放)[一个|一张|一把|一盏|一盆|一块|个|张|把][{style}][风格|风|式][的]{type:furniture}[(在|到){position:anchor}]"
      - "(来|要)(一个|一张|一把|一盏|一盆|个|张|把)[{style}][风格|风|式][的]{type:furniture}"
    examples:
      - {utterance: "put a nordic sofa by the window", action: {action: place_furniture, type: sofa, style: nordic, position: window}}
      - {utterance: "在窗边放一个北欧风格的沙发", action: {action: place_furniture, type: sofa, style: nordic, position: window}}
    executor: {type: scene}
    reply: "Placed a {style} {type} at the {position}."
    reply_zh: "好的，已在{position}放了一个{style}风格的{type}。"
  - name: move_furniture
    description: Move a piece of furniture that is already in the room.
    parameters:
      type: object
      properties:
        type: {enum: [sofa, armchair, coffee_table, dining_table, chair, bed, lamp, shelf, plant, rug]}
        position:
          oneOf:
            - {enum: [window, door, corner, centre, left_of_sofa, right_of_sofa, wall]}
            - type: object
              properties: {x: {type: number}, z: {type: number}}
              required: [x, z]
              additionalProperties: false
      required: [type, position]
    templates:
      - "(move|shift|push|slide|put|bring|drag|take) the {type:furniture} (to|by|near|next to|beside|into|in|against|over to|towards) [the] {position:anchor}"
      - "(move|shift|put) the {type:furniture} (to|at) [position|x] {position.x:number} [and|z] {position.z:number}"
      - "把{type:furniture}(移到|挪到|搬到|放到|移动到|推到|放在|挪去|搬去)[{position:anchor}]"
      - "把{type:furniture}(移到|挪到|搬到|放到|移动到|推到|放在){position:anchor}(去|那里|那边)"
      - "{type:furniture}(移到|挪到|搬到|放到|移动到){position:anchor}"
    executor: {type: scene}
    reply: "Moved the {type} to the {position}."
  - name: remove_furniture
    description: Remove a piece of furniture from the room.
    parameters:
      type: object
      properties:
        type: {enum: [sofa, armchair, coffee_table, dining_table, chair, bed, lamp, shelf, plant, rug]}
      required: [type]
    templates:
      - "(remove|delete|take away|take out|get rid of|throw away|throw out) the {type:furniture}"
      - "(remove|delete) [a|an|one] {type:furniture}"
      - "(删除|删掉|去掉|移除|拿走|扔掉|撤掉)[那个|这个|那张|这张|那把|这把|一个][的]{type:furniture}"
      - "把[那个|这个|那张|这张|那把|这把]{type:furniture}(删除|删掉|去掉|移除|拿走|扔掉|撤掉)"
      - "不要{type:furniture}"
    executor: {type: scene}
    reply: "Removed the {type}."
  - name: set_style
    description: Restyle the whole room, or one piece of furniture when type is given.
    parameters:
      type: object
      properties:
        style: {enum: [nordic, industrial, modern, classic, japanese]}
        type: {enum: [sofa, armchair, coffee_table, dining_table, chair, bed, lamp, shelf, plant, rug]}
      required: [style]
    templates:
      - "(make|change|switch|turn|restyle|set|convert) (everything|the room|the scene|it all|all|all the furniture|the whole room|the furniture|the style) [to|in|into] [a|an] {style} [style]"
      - "(make|change|switch|turn|restyle|set) the {type:furniture} [to|in|into] [a|an] {style} [style]"
      - "{style} style (everything|for everything|please|for the room)"
      - "(use|apply|go with) [a|an|the] {style} style"
      - "(把)(房间|场景|所有家具|全部|家具|所有东西|整个房间)(换成|改成|变成|设为|设成|都换成|都改成|都变成)[成]{style}[风格|风|式][的]"
      - "把{type:furniture}(换成|改成|变成|设为|设成){style}[风格|风|式][的]"
      - "(换成|改成|变成|用){style}(风格|风|式)"
    executor: {type: scene}
    reply: "Restyled to {style}."
  - name: set_light
    description: Control the light of the 3D room scene (on/off, colour, brightness 0-100).
    parameters:
      type: object
      properties:
        state: {enum: ["on", "off"]}
        color: {enum: [red, green, blue, yellow, purple, orange, pink, white, warm_white, cool_white]}
        brightness: {type: integer, minimum: 0, maximum: 100}
    templates:
      - "(turn|switch) {state:onoff} the (scene|room|3d|virtual) (light|lights|lighting)"
      - "(turn|switch) the (scene|3d|virtual) (light|lights|lighting) {state:onoff}"
      - {text: "(make|set|change|turn) the (scene|3d|virtual) (light|lights|lighting) [to] {color}", set: {state: "on"}}
      - {text: "(set|dim|change) the (scene|3d|virtual) (light|lights|lighting|brightness) to {brightness:number} [percent]", set: {state: "on"}}
      - {text: "(make the scene|make the room) {color}", set: {state: "on"}}
      - {text: "(打开|开|开启)(场景|房间|3d|虚拟)(灯光|灯|照明)", set: {state: "on"}}
      - {text: "(关|关掉|关闭|关上)(场景|房间|3d|虚拟)(灯光|灯|照明)", set: {state: "off"}}
      - {text: "把(场景|房间|3d|虚拟)(灯光|灯|照明)(调成|换成|变成|设为|改成){color}[的]", set: {state: "on"}}
      - {text: "(场景|房间)(灯光|灯)(调到|设为){brightness:number}(percent|度)", set: {state: "on"}}
    executor: {type: scene}
    reply: "Scene light updated."
  - name: camera_view
    description: Switch the console's 3D camera to a preset view.
    parameters:
      type: object
      properties:
        preset: {enum: [top, front, corner, window]}
      required: [preset]
    templates:
      - "(show|show me|switch to|go to|change to|give me|use) [the|a] {preset:view} (view|camera|angle|perspective)"
      - "(view|look) (from|at) [the] {preset:view}"
      - "(切换到|切到|换到|显示|切换成|换成){preset:view}(视角|视图|角度|镜头)"
      - "从{preset:view}(看|看看|观察)"
      - "{preset:view}(视角|视图)"
    executor: {type: scene}
    reply: "Switched to the {preset} view."
  - name: clear_scene
    description: Remove everything from the 3D room.
    parameters: {type: object, properties: {}}
    templates:
      - "(clear|empty|reset|wipe) the (scene|room|whole room|whole scene)"
      - "(remove|delete) (everything|all the furniture|all furniture)"
      - "start (over|again|from scratch)"
      - "(清空|清除|清理|重置)(场景|房间|所有家具|全部)"
      - "(把)(家具|所有家具|东西|所有东西)(全部|都)(删掉|删除|清空|拿走)"
      - "全部(删掉|删除|清空)"
    executor: {type: scene}
    reply: "The room is empty now."
  - name: say
    description: Answer in words when no device or scene action fits (questions, chit-chat).
    parameters:
      type: object
      properties:
        text: {type: string, minLength: 1}
      required: [text]
    executor: {type: log}
    reply: "{text}"
)OMNI_YAML";
  return text;
}

}  // namespace omni::agent
