error({})
function decide() end
