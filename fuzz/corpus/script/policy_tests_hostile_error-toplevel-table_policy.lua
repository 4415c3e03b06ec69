error({})
function decide() end
