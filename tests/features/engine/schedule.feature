Feature: Trading schedule
  New entries are made only inside [trading_schedule]'s window (UTC times);
  the schedule switches the trading session at the window's edges, and
  switches nothing when it is disabled. The engine and the simulated gateway
  share one clock, which a scenario sets and which runs a hundred times
  faster than real time.

  Scenario: Trading stops at the end of the window
    Given the engine's clock is at 19:58:00 UTC on Monday 2026-11-23
    And the engine trades QQQ against the simulated gateway
    And trading_schedule.enabled is true
    And trading_schedule.start_time_utc is "13:30"
    And trading_schedule.stop_time_utc is "20:00"
    And the trading session is active
    When the clock reaches 20:00:00 UTC
    Then the session becomes inactive
    And no new entry orders are placed for 3 cycles

  Scenario: Trading starts at the start of the window
    Given the engine's clock is at 13:28:00 UTC on Monday 2026-11-23
    And the engine trades QQQ against the simulated gateway
    And trading_schedule.enabled is true
    And trading_schedule.start_time_utc is "13:30"
    And trading_schedule.stop_time_utc is "20:00"
    And the trading session is inactive
    When the clock reaches 13:30:00 UTC
    Then the session becomes active
    And new entries are permitted: an entry order is placed

  Scenario: The schedule respects its enabled flag
    Given the engine's clock is at 13:28:00 UTC on Monday 2026-11-23
    And the engine trades QQQ against the simulated gateway
    And trading_schedule.enabled is false
    And trading_schedule.start_time_utc is "13:30"
    And trading_schedule.stop_time_utc is "20:00"
    When the clock passes 13:30:00 UTC and 20:00:00 UTC
    Then the session state is never switched by the schedule
