function init(me, world) repeat until false end
function decide(me, world) end
