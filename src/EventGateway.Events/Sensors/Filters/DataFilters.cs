using System.Globalization;
using System.Text.Json;
using EventGateway.Languages.Expr;
using EventGateway.Languages.Json;
using EventGateway.Model;

namespace EventGateway.Events.Sensors.Filters;

/// <summary>
/// Argo's data filters: each filter reads a gjson path and accepts the event when the value matches ANY of its
/// values (regex for strings, comparator for numbers, equality for bools). Filters combine with
/// <c>dataLogicalOperator</c>; a missing path, no values, or an unparsable value is an error.
/// </summary>
internal static class DataFilters
{
    public const string String = "string";
    public const string Number = "number";
    public const string Bool = "bool";

    public static readonly string[] Comparators = [">=", ">", "=", "!=", "<", "<="];

    public static KindOutcome Evaluate(List<DataFilter> filters, string? op, JsonElement? data)
    {
        // Argo: no filters or no payload passes.
        if (filters.Count == 0 || data is not { } root)
        {
            return KindOutcome.Pass;
        }

        return KindOutcome.Combine("data", LogicalOperator.IsOr(op), filters.Select(f => (KindOutcome?)EvaluateOne(f, root)));
    }

    private static KindOutcome EvaluateOne(DataFilter filter, JsonElement root)
    {
        var path = filter.Path ?? string.Empty;
        if (GJson.Get(root, path) is not { } found)
        {
            return new(false, $"path '{path}' does not exist", true);
        }

        var values = filter.Value ?? [];
        if (values.Count == 0)
        {
            return new(false, "no values specified", true);
        }

        var actual = found;
        if (!string.IsNullOrEmpty(filter.Template))
        {
            if (!DataTemplate.TryRender(filter.Template, GJson.ToGoString(found), out var rendered, out var error))
            {
                return new(false, error, true);
            }

            actual = JsonSerializer.SerializeToElement(rendered);
        }

        var comparator = string.IsNullOrEmpty(filter.Comparator) ? "=" : filter.Comparator;
        return filter.Type switch
        {
            Bool => MatchBool(path, values, actual),
            Number => MatchNumber(path, comparator, values, actual),
            String => MatchString(path, comparator, values, actual),
            _ => new(false, $"unsupported JSON type '{filter.Type}'", true),
        };
    }

    private static KindOutcome MatchBool(string path, List<string> values, JsonElement actual)
    {
        var value = GJson.ToBool(actual);
        foreach (var text in values)
        {
            if (GJson.GoParseBool(text) is not { } expected)
            {
                return new(false, $"strconv.ParseBool: parsing {Show.Quote(text)}: invalid syntax", true);
            }

            if (expected == value)
            {
                return KindOutcome.Pass;
            }
        }

        return KindOutcome.NoMatch($"data filter {path}: {(value ? "true" : "false")} does not equal any of {Show.List(values, quote: false)}");
    }

    private static KindOutcome MatchNumber(string path, string comparator, List<string> values, JsonElement actual)
    {
        var value = GJson.ToFloat(actual);
        foreach (var text in values)
        {
            if (GJson.GoParseFloat(text) is not { } expected)
            {
                return new(false, $"strconv.ParseFloat: parsing {Show.Quote(text)}: invalid syntax", true);
            }

            var holds = comparator switch
            {
                ">=" => value >= expected,
                ">" => value > expected,
                "<" => value < expected,
                "<=" => value <= expected,
                "!=" => value != expected,
                "=" => value == expected,
                _ => false,
            };
            if (holds)
            {
                return KindOutcome.Pass;
            }
        }

        var shown = value.ToString("R", CultureInfo.InvariantCulture);
        return KindOutcome.NoMatch($"data filter {path}: {shown} is not {comparator} any of {Show.List(values, quote: false)}");
    }

    private static KindOutcome MatchString(string path, string comparator, List<string> values, JsonElement actual)
    {
        var value = GJson.ToGoString(actual);
        foreach (var pattern in values)
        {
            bool match;
            try
            {
                // Unanchored like Go's regexp.Match: "main" matches "refs/heads/main".
                match = GoRegex.IsMatch(pattern, value);
            }
            catch (ExpressionException e)
            {
                return new(false, e.Reason, true);
            }

            var holds = comparator switch
            {
                "=" => match,
                "!=" => !match,
                _ => false,
            };
            if (holds)
            {
                return KindOutcome.Pass;
            }
        }

        var verb = comparator switch
        {
            "=" => "does not match any of",
            "!=" => "matches all of",
            _ => $"cannot be compared with '{comparator}' to any of",
        };
        return KindOutcome.NoMatch($"data filter {path}: {Show.Quote(value)} {verb} {Show.List(values, quote: true)}");
    }
}
