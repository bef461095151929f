using System.Globalization;
using System.Text.Json;
using EventGateway.Languages.Expr;
using EventGateway.Languages.Govaluate;
using EventGateway.Languages.Json;
using EventGateway.Model;

namespace EventGateway.Events.Sensors.Filters;

/// <summary>
/// Argo's expr filters: govaluate expressions whose variables are the named fields, each read from the event
/// data by gjson path. Combined with <c>exprLogicalOperator</c>. A filter without fields is skipped; only a
/// boolean <c>true</c> passes; a missing path, a syntax error or an evaluation error is an error.
/// </summary>
/// <remarks>
/// Evaluation is <see cref="GovaluateExpression"/>: field values are spliced in as literals where the
/// expression names them, then evaluated by the engine of Argo Workflows' <c>when</c>.
/// </remarks>
internal static class ExprFilters
{
    public static KindOutcome Evaluate(List<ExprFilter> filters, string? op, JsonElement? data)
    {
        if (data is not { } root)
        {
            return KindOutcome.Pass;
        }

        // Argo: under "or", an empty list or all-skipped filters do not pass.
        return KindOutcome.Combine("expr", LogicalOperator.IsOr(op), filters.Select(f => EvaluateOne(f, root)));
    }

    /// <summary>Parses the expression with its field names as variables; the syntax error, or null.</summary>
    public static string? SyntaxError(string expr) => GovaluateExpression.SyntaxError(expr);

    /// <summary>Null when the filter has no fields (Argo skips it).</summary>
    private static KindOutcome? EvaluateOne(ExprFilter filter, JsonElement root)
    {
        var parameters = new Dictionary<string, JsonElement>(StringComparer.Ordinal);
        foreach (var field in filter.Fields ?? [])
        {
            var path = field.Path ?? string.Empty;
            if (GJson.Get(root, path) is not { } value)
            {
                return new KindOutcome(false, $"path '{path}' does not exist", true);
            }

            parameters[field.Name ?? string.Empty] = value;
        }

        if (parameters.Count == 0)
        {
            return null;
        }

        var expr = filter.Expr ?? string.Empty;
        try
        {
            var result = GovaluateExpression.Evaluate(expr, parameters);
            return result is true
                ? KindOutcome.Pass
                : KindOutcome.NoMatch($"expr filter {Show.Quote(expr)} evaluated to {Describe(result)}");
        }
        catch (ExpressionException e)
        {
            return new KindOutcome(false, e.Reason, true);
        }
    }

    private static string Describe(object? result) => result switch
    {
        bool b => b ? "true" : "false",
        string s => Show.Quote(s),
        double d => d.ToString("R", CultureInfo.InvariantCulture),
        null => "nil",
        _ => "a non-boolean value",
    };
}
