using EventGateway.Languages.Expr;
using EventGateway.Languages.Json;
using EventGateway.Languages.Lua;
using EventGateway.Model;

namespace EventGateway.Events.Sensors.Filters;

public static partial class DependencyFilter
{
    /// <summary>
    /// Load-time checks, reported as <c>fail(path, reason)</c> under <paramref name="at"/> (e.g.
    /// <c>spec.dependencies[0].filters</c>): what Argo would only discover per event, plus what is not supported here.
    /// </summary>
    public static void Validate(EventDependencyFilter? filter, string at, Action<string, string> fail)
    {
        ArgumentNullException.ThrowIfNull(at);
        ArgumentNullException.ThrowIfNull(fail);
        if (filter is null)
        {
            return;
        }

        CheckOperator(filter.DataLogicalOperator, $"{at}.dataLogicalOperator", fail);
        CheckOperator(filter.ExprLogicalOperator, $"{at}.exprLogicalOperator", fail);
        if (!string.IsNullOrEmpty(filter.Script) && LuaScript.SyntaxError(filter.Script) is { } syntax)
        {
            fail($"{at}.script", $"cannot compile Lua script: {syntax}");
        }

        if (filter.Time is { } time)
        {
            ValidateTime(time, $"{at}.time", fail);
        }

        for (var i = 0; i < (filter.Data?.Count ?? 0); i++)
        {
            ValidateData(filter.Data![i], $"{at}.data[{i}]", fail);
        }

        for (var i = 0; i < (filter.Exprs?.Count ?? 0); i++)
        {
            ValidateExpr(filter.Exprs![i], $"{at}.exprs[{i}]", fail);
        }
    }

    /// <summary>For the dependency's own <c>filtersLogicalOperator</c>.</summary>
    public static void ValidateOperator(string? op, string at, Action<string, string> fail) => CheckOperator(op, at, fail);

    private static void CheckOperator(string? op, string at, Action<string, string> fail)
    {
        if (!LogicalOperator.IsValid(op))
        {
            fail(at, $"logical operator {Show.Quote(op!)} is not valid: use \"and\" or \"or\"");
        }
    }

    private static void ValidateTime(TimeFilter time, string at, Action<string, string> fail)
    {
        if (!TimeFilters.TryParseClock(time.Start, out _, out var error))
        {
            fail($"{at}.start", error);
        }

        if (!TimeFilters.TryParseClock(time.Stop, out _, out error))
        {
            fail($"{at}.stop", error);
        }

        if (!TimeFilters.TryResolveZone(time.Timezone, null, out _, out error))
        {
            fail($"{at}.timezone", error);
        }
    }

    private static void ValidateData(DataFilter data, string at, Action<string, string> fail)
    {
        if (string.IsNullOrEmpty(data.Path))
        {
            fail($"{at}.path", "path is required");
        }
        else if (!GJson.IsSupported(data.Path, out var why))
        {
            fail($"{at}.path", why!);
        }

        var values = data.Value ?? [];
        if (values.Count == 0)
        {
            fail($"{at}.value", "at least one value is required");
        }

        var comparator = data.Comparator ?? string.Empty;
        if (comparator.Length > 0 && !DataFilters.Comparators.Contains(comparator))
        {
            fail($"{at}.comparator", $"comparator {Show.Quote(comparator)} is not valid: use one of >=, >, =, !=, <, <=");
        }

        if (!string.IsNullOrEmpty(data.Template) && DataTemplate.Unsupported(data.Template) is { } template)
        {
            fail($"{at}.template", template);
        }

        switch (data.Type)
        {
            case DataFilters.String:
                if (comparator is not ("" or "=" or "!=") && DataFilters.Comparators.Contains(comparator))
                {
                    fail($"{at}.comparator", $"comparator {Show.Quote(comparator)} does not apply to strings: use = or !=");
                }

                for (var i = 0; i < values.Count; i++)
                {
                    try
                    {
                        GoRegex.Get(values[i]);
                    }
                    catch (ExpressionException e)
                    {
                        fail($"{at}.value[{i}]", e.Reason);
                    }
                }

                break;
            case DataFilters.Number:
                for (var i = 0; i < values.Count; i++)
                {
                    if (GJson.GoParseFloat(values[i]) is null)
                    {
                        fail($"{at}.value[{i}]", $"{Show.Quote(values[i])} is not a number");
                    }
                }

                break;
            case DataFilters.Bool:
                for (var i = 0; i < values.Count; i++)
                {
                    if (GJson.GoParseBool(values[i]) is null)
                    {
                        fail($"{at}.value[{i}]", $"{Show.Quote(values[i])} is not a bool (true, false, 1, 0, t, f)");
                    }
                }

                break;
            default:
                fail($"{at}.type", $"type {Show.Quote(data.Type ?? string.Empty)} is not valid: use string, number or bool");
                break;
        }
    }

    private static void ValidateExpr(ExprFilter expr, string at, Action<string, string> fail)
    {
        if (string.IsNullOrWhiteSpace(expr.Expr))
        {
            fail($"{at}.expr", "expr is required");
        }
        else if (ExprFilters.SyntaxError(expr.Expr) is { } syntax)
        {
            fail($"{at}.expr", $"cannot parse expression: {syntax}");
        }

        var fields = expr.Fields ?? [];
        if (fields.Count == 0)
        {
            fail($"{at}.fields", "at least one field is required (Argo skips an expr without fields)");
        }

        for (var i = 0; i < fields.Count; i++)
        {
            if (string.IsNullOrEmpty(fields[i].Name))
            {
                fail($"{at}.fields[{i}].name", "name is required");
            }

            if (string.IsNullOrEmpty(fields[i].Path))
            {
                fail($"{at}.fields[{i}].path", "path is required");
            }
            else if (!GJson.IsSupported(fields[i].Path!, out var why))
            {
                fail($"{at}.fields[{i}].path", why!);
            }
        }
    }
}
