function decide() end
