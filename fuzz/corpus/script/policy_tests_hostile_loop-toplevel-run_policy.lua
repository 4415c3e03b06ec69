while true do end
function decide() end
