function decide(me, world)
  local function f() return pcall(f) end
  local ok = f()
  error("reached: " .. tostring(ok))
end
