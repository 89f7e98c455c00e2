using CxEngine.Scoring;

namespace CxEngine.Calibration;

/// <summary>
/// Replays every customer's history through the pure scoring step under one policy and reads S at each
/// measurement: decayed to the measurement's time, before the survey it judges. Pure and allocation-light,
/// so a search can afford thousands of replays.
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

    public static void Scores(CalibrationInput input, MeasurementSet measurements, TierPolicy policy, double[] scores)
    {
        var items = measurements.Items;
        for (var c = 0; c < input.Customers.Count; c++)
        {
            var events = input.Customers[c].Events;
            var m = measurements.FirstOfCustomer[c];
            var end = measurements.FirstOfCustomer[c + 1];
            var state = ScoreState.Initial(policy);
            for (var i = 0; i <= events.Count && m < end; i++)
            {
                while (m < end && items[m].Position == i)
                {
                    scores[m] = ScoringStep.Decay(state.Score, state.LastEventAtTicks, items[m].AtTicks, policy);
                    m++;
                }

                if (i < events.Count && m < end)
                {
                    // The recovery decision does not feed back into S, so no open action is tracked here.
                    state = ScoringStep.Apply(state, events[i].Event, policy, Severity.None).State;
                }
            }
        }
    }
}
