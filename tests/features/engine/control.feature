Feature: Pause, edit, apply, resume
  An operator changes settings while the engine trades: the apply saves the
  file atomically with a backup, holds new decision cycles back only while
  the new config is swapped in, and resumes; nothing waits for a decision
  cycle or a working order, which keeps the plan it was issued with. A
  refused apply changes nothing.

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

  Scenario: Pause, edit, apply and resume while an entry order walks
    Given the engine's clock is at 15:00:00 UTC on Monday 2026-11-23
    And the engine trades QQQ against the simulated gateway
    And execution.walk_interval_s is 60
    And execution.order_timeout_s is 900
    When an entry order is working at the simulated gateway
    And the operator pauses, sets execution.max_slippage_pct to 10 and exits.stop_loss_atr_mult to 1.5, applies and resumes
    Then the pause, the apply and the resume took less than a second together
    And the order goes on with the bound it was issued with and ends as planned
    And the next decision cycle reads execution.max_slippage_pct = 10.0
    And the next decision cycle reads exits.stop_loss_atr_mult = 1.5
    And the gateway connection was never dropped
