Feature: Spread execution and risk
  From a signal to a filled combo order, every step is checked, recorded in
  the journal, and visible at the simulated gateway; risk limits and the IV
  circuit breaker stop entries, with the reason journaled.

  Scenario: Execute a debit spread with smart pricing
    Given the engine's clock is at 15:00:00 UTC on Monday 2026-11-23
    And the engine trades QQQ against the simulated gateway
    And scanner.kinds is ["bull_call"]
    And the simulated gateway fills at most 1 spread at a time
    And execution.order_timeout_s is 3600
    When a bullish signal on QQQ leads the engine to submit a bull call spread
    Then position limits and risk limits were checked
    And the IV circuit breaker was checked
    And a BAG combo was built from both legs' conIds
    And a what-if preview showed acceptable margin
    And the limit price started at the combo mid, within bid and ask
    And the order was placed and followed through its events to its end
    And its partial fills add up to the position, exactly
    And the journal holds the order, its fills with slippage versus mid, and the position

  Scenario: Risk limits block an order
    Given the engine's clock is at 15:00:00 UTC on Monday 2026-11-23
    And the engine trades QQQ, IWM against the simulated gateway
    And trading.max_positions is 1
    When the engine runs until 1 spread is open
    And a new signal arrives
    Then no order is placed for it and the refusal is journaled naming trading.max_positions

  Scenario: The circuit breaker halts entries
    Given the engine's clock is at 15:00:00 UTC on Monday 2026-11-23
    And the engine trades QQQ against the simulated gateway
    And risk.max_iv_resume is 0.04
    And risk.max_iv is 0.05
    When a signal arrives
    Then no entry is made and the refusal is journaled naming the IV circuit breaker
    When risk.max_iv is set to 0.9 and applied live
    Then still no entry is made, as the IV has not fallen below risk.max_iv_resume
    When risk.max_iv_resume is set to 0.85 and applied live
    Then the breaker resets and an entry order is placed

  Scenario: The kill switch cancels a working entry order at once
    Given the engine's clock is at 15:00:00 UTC on Monday 2026-11-23
    And the engine trades QQQ against the simulated gateway
    And execution.max_slippage_pct is 0
    And execution.order_timeout_s is 3600
    When an entry order is working at the simulated gateway
    And the operator engages the kill switch
    Then the order is cancelled at the gateway within a second
    And the journal records its end as cancelled
    And no entry is considered while the kill switch is engaged

  Scenario: An operator cancels one working order and trading goes on
    Given the engine's clock is at 15:00:00 UTC on Monday 2026-11-23
    And the engine trades QQQ against the simulated gateway
    And execution.max_slippage_pct is 0
    And execution.order_timeout_s is 3600
    When an entry order is working at the simulated gateway
    And the operator cancels that order
    Then the order is cancelled at the gateway within a second
    And the journal records its end as cancelled
    And entries go on: a later entry order is placed

  Scenario: A leg that no spread explains is flagged
    Given the engine's clock is at 15:00:00 UTC on Monday 2026-11-23
    And the engine trades QQQ against the simulated gateway
    When the engine runs until 1 spread is open
    And another client of the account buys 1 of that spread's short leg at the gateway
    Then a cycle flags the short leg as legged out of its spread
