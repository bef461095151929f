using System.Text.Json;
using EventGateway.Model;

namespace EventGateway.Events.Sensors.Filters;

/// <summary>
/// Decides whether an event satisfies a Sensor dependency's <c>filters</c>, with Argo Events' semantics
/// (pkg/sensors/dependencies/filter.go): kinds run in the order expr, data, context, time, script; under
/// <c>filtersLogicalOperator: and</c> (default) all must pass and the first error stops; under <c>or</c> any
/// PRESENT kind passing is enough, but any kind reporting an error still fails the event (a script error alone
/// is the reason then, as Argo returns it without the others).
/// </summary>
public static partial class DependencyFilter
{
    /// <param name="now">Used only when the event carries no time; Argo filters on the event time.</param>
    /// <param name="defaultZone">Zone of time filters without <c>timezone</c>; null means UTC, as Argo.</param>
    public static FilterResult Evaluate(EventDependencyFilter? filter, string? filtersLogicalOperator, CloudEventView e,
        DateTimeOffset now, TimeZoneInfo? defaultZone)
    {
        ArgumentNullException.ThrowIfNull(e);
        if (filter is null)
        {
            return FilterResult.Pass;
        }

        JsonDocument? document;
        try
        {
            document = e.ParseData();
        }
        catch (JsonException)
        {
            document = null;
            if (filter.Data is { Count: > 0 } || filter.Exprs is not null || !string.IsNullOrEmpty(filter.Script))
            {
                var kind = filter.Exprs is not null ? "expr" : filter.Data is { Count: > 0 } ? "data" : "script";
                return FilterResult.Fail($"{kind} filter error (event data not valid JSON)");
            }
        }

        using (document)
        {
            return Combine(filter, filtersLogicalOperator, e, document?.RootElement, now, defaultZone);
        }
    }

    private static FilterResult Combine(EventDependencyFilter filter, string? op, CloudEventView e, JsonElement? data,
        DateTimeOffset now, TimeZoneInfo? defaultZone)
    {
        // A script error fails the event on its own even under "or" (Argo returns it immediately).
        var kinds = new List<(bool Present, bool ErrorDecides, Func<KindOutcome> Run)>
        {
            (filter.Exprs is not null, false, () => ExprFilters.Evaluate(filter.Exprs!, filter.ExprLogicalOperator, data)),
            (filter.Data is not null, false, () => DataFilters.Evaluate(filter.Data!, filter.DataLogicalOperator, data)),
            (filter.Context is not null, false, () => ContextFilters.Evaluate(filter.Context!, e)),
            (filter.Time is not null, false, () => TimeFilters.Evaluate(filter.Time!, e.Time ?? now, defaultZone)),
            (!string.IsNullOrEmpty(filter.Script), true, () => ScriptFilter.Evaluate(filter.Script!, data)),
        };

        var or = LogicalOperator.IsOr(op);
        var passed = false;
        var errors = new List<string>();
        var misses = new List<string>();
        foreach (var (present, errorDecides, run) in kinds)
        {
            if (!present)
            {
                continue;
            }

            var outcome = run();
            if (!outcome.Passed && (!or || errorDecides && outcome.IsError))
            {
                return FilterResult.Fail(outcome.Reason!);
            }

            passed |= outcome.Passed;
            if (!outcome.Passed)
            {
                (outcome.IsError ? errors : misses).Add(outcome.Reason!);
            }
        }

        if (!or)
        {
            return FilterResult.Pass;
        }

        if (errors.Count > 0)
        {
            return FilterResult.Fail(string.Join(" / ", errors));
        }

        return passed
            ? FilterResult.Pass
            : FilterResult.Fail(misses.Count > 0 ? $"no filter passed: {string.Join("; ", misses)}" : "no filter passed: none is defined");
    }
}
