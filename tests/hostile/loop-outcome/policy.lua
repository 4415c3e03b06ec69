function decide() end
