-- Helpers shared by every expression and script of a scenario that names
-- this file (`helpers: helpers/stats.lua`); see docs/scenario-format.md.
-- Defining globals is what a helpers file is for:
-- luacheck: allow defined top, ignore 131

-- Number of items of a list of views whose attribute equals value.
function count_equal(list, attr, value)
  local n = 0
  for _, v in ipairs(list) do
    if v[attr] == value then n = n + 1 end
  end
  return n
end

-- Share (0..1) of the items whose attribute equals value; nil for an empty list.
function share_equal(list, attr, value)
  if #list == 0 then return nil end
  return count_equal(list, attr, value) / #list
end
