using System.Globalization;
using System.Numerics;
using System.Text;
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
/// Evaluation reuses the govaluate engine of Argo Workflows' <c>when</c>: field values are spliced in as
/// literals where the expression names them. Differences from govaluate with real parameters: a string value
/// that looks like a date becomes unix seconds (govaluate only does that to literals), and null, object and
/// array values are rejected rather than compared.
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
    public static string? SyntaxError(string expr)
    {
        try
        {
            WhenParser.Parse(expr);
            return null;
        }
        catch (ExprError e)
        {
            return e.Reason;
        }
    }

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
            var result = WhenParser.Parse(Bind(expr, parameters)).Eval();
            return result is true
                ? KindOutcome.Pass
                : KindOutcome.NoMatch($"expr filter {Show.Quote(expr)} evaluated to {Describe(result)}");
        }
        catch (ExprError e)
        {
            return new KindOutcome(false, e.Reason, true);
        }
    }

    /// <summary>
    /// Replaces every variable (bare word or <c>[escaped]</c> word) with its field's value as a literal.
    /// govaluate fails on a variable no field names; so does this.
    /// </summary>
    private static string Bind(string expr, Dictionary<string, JsonElement> parameters)
    {
        var sb = new StringBuilder(expr.Length + 16);
        var copied = 0;
        foreach (var token in WhenLexer.Tokenize(expr))
        {
            var isVariable = token.Kind == WhenTokenKind.Accessor
                || (token.Kind == WhenTokenKind.String && token.Text.Length > 0 && token.Text[0] is not ('"' or '\''));
            if (!isVariable)
            {
                continue;
            }

            var name = (string)token.Value!;
            if (!parameters.TryGetValue(name, out var value))
            {
                throw new ExprError($"No parameter '{name}' found.", token.Position);
            }

            sb.Append(expr, copied, token.Position - copied).Append(Literal(name, value));
            copied = token.Position + token.Text.Length;
        }

        return sb.Append(expr, copied, expr.Length - copied).ToString();
    }

    private static string Literal(string name, JsonElement value) => value.ValueKind switch
    {
        JsonValueKind.True => "true",
        JsonValueKind.False => "false",
        JsonValueKind.String =>
            "\"" + value.GetString()!.Replace("\\", "\\\\", StringComparison.Ordinal).Replace("\"", "\\\"", StringComparison.Ordinal) + "\"",
        JsonValueKind.Number => NumberLiteral(name, value),
        _ => throw new ExprError($"field '{name}' is {value.ValueKind.ToString().ToLowerInvariant()}; only strings, numbers and bools are supported in exprs"),
    };

    private static string NumberLiteral(string name, JsonElement value)
    {
        if (!value.TryGetDouble(out var d))
        {
            throw new ExprError($"field '{name}' has a number out of float64 range");
        }

        // The govaluate lexer reads plain decimals only, so exponent forms are written out.
        var text = d.ToString("R", CultureInfo.InvariantCulture);
        if (text.Contains('E', StringComparison.Ordinal))
        {
            text = Math.Floor(d) == d ? new BigInteger(d).ToString(CultureInfo.InvariantCulture)
                : Math.Abs(d) > 1e-20 ? ((decimal)d).ToString(CultureInfo.InvariantCulture)
                : throw new ExprError($"field '{name}' has a number too small to represent here ({text})");
        }

        // Parenthesised so a negative value stays one operand next to any operator.
        return d < 0 ? $"({text})" : text;
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
