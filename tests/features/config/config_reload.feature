Feature: Config reload from the file
  A running vspread picks up edits to config.toml, on the file watcher or on
  SIGHUP, and refuses an invalid edit while keeping the running config.

  Scenario: Config reload from the file
    Given the service is running with exits.stop_loss_atr_mult set to 2.0
    When config.toml is edited on disk to set exits.stop_loss_atr_mult to 1.5 and SIGHUP is sent
    Then the log says "config reloaded" with exits.stop_loss_atr_mult
    And the value of exits.stop_loss_atr_mult in effect is 1.5

  Scenario: An invalid edit on disk is refused
    Given the service is running with exits.stop_loss_atr_mult set to 2.0
    When config.toml is edited on disk to set exits.stop_loss_atr_mult to -1 and SIGHUP is sent
    Then the log says the reload was refused naming exits.stop_loss_atr_mult at line 2
    And the value of exits.stop_loss_atr_mult in effect is 2.0
