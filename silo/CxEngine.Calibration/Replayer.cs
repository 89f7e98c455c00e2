using CxEngine.Customers;
using CxEngine.Scoring;

namespace CxEngine.Calibration;

/// <summary>
/// Replays every customer's history through the engine's own pure model (<see cref="CustomerModel"/>: the
/// missed promises that fall due, then the event, through the scoring step and the recovery rules) under one
/// policy, and reads S at each measurement: with every promise due by then applied as missed, decayed to the
/// measurement's time, before the survey it judges. An event the model refuses (a customer over
/// max_open_promises, say) changes nothing, as in the engine.
/// </summary>
public static class Replayer
{
    /// <summary>S at every measurement of <paramref name="measurements"/>, in its order.</summary>
    public static double[] Scores(CalibrationInput input, MeasurementSet measurements, TierPolicy policy)
    {
        var scores = new double[measurements.Count];
        Scores(input, measurements, policy, scores);
        return scores;
    }

    /// <summary>Fills <paramref name="scores"/>; returns how many events the model refused.</summary>
    public static int Scores(CalibrationInput input, MeasurementSet measurements, TierPolicy policy, double[] scores)
    {
        var items = measurements.Items;
        var refused = 0;
        for (var c = 0; c < input.Customers.Count; c++)
        {
            var customer = input.Customers[c];
            var events = customer.Events;
            var m = measurements.FirstOfCustomer[c];
            var end = measurements.FirstOfCustomer[c + 1];
            var state = new CustomerState();
            for (var i = 0; i <= events.Count && m < end; i++)
            {
                while (m < end && items[m].Position == i)
                {
                    var at = items[m].AtTicks;
                    if (state.Exists)
                    {
                        // A survey is judged on the state just before it (deadlines strictly before); an outcome on the state at its time.
                        var until = items[m].Kind == MeasureKind.Survey ? at - 1 : at;
                        state = CustomerModel.ApplyDuePromises(state, customer.CustomerId, policy, until, new DateTime(until, DateTimeKind.Utc)).State;
                    }

                    var score = state.Exists ? state.Score : ScoreState.Initial(policy);
                    scores[m] = ScoringStep.Decay(score.Score, score.LastEventAtTicks, at, policy);
                    m++;
                }

                if (i < events.Count && m < end)
                {
                    var evt = events[i];
                    var result = CustomerModel.Apply(state, customer.CustomerId, evt, policy, evt.Event.OccurredAt);
                    if (result.Rejection is not null)
                    {
                        refused++;
                    }

                    state = result.State;
                }
            }
        }

        return refused;
    }
}
