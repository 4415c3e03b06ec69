function decide(me, world)
  string.gsub("abc", "%w", function() while true do end end)
end
