Feature: Pause, edit, apply, resume
  An operator changes settings while the engine trades: the apply pauses
  the engine (an in-flight cycle finishes first), saves the file atomically
  with a backup, swaps the config and resumes; a refused apply changes
  nothing.

  Scenario: Edit the ATR stop multiplier live
    Given the engine's clock is at 15:00:00 UTC on Monday 2026-11-23
    And the engine trades QQQ against the simulated gateway
    And the engine is running
    When the operator sets exits.stop_loss_atr_mult to 1.5 and applies
    Then the engine was paused for the apply and is running again
    And config.toml contains "stop_loss_atr_mult = 1.5"
    And a backup of the previous config.toml exists
    And the log says the config reloaded with exits.stop_loss_atr_mult
    And the next decision cycle reads exits.stop_loss_atr_mult = 1.5
    And the gateway connection was never dropped

  Scenario: A failed apply changes nothing
    Given the engine's clock is at 15:00:00 UTC on Monday 2026-11-23
    And the engine trades QQQ against the simulated gateway
    And the engine is running
    When the operator applies a config whose exits.stop_loss_atr_mult is -1
    Then the apply is refused naming exits.stop_loss_atr_mult
    And config.toml is byte-for-byte unchanged and no backup is written
    And the engine is running with the old config
