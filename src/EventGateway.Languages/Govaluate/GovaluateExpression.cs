using System.Globalization;
using System.Numerics;
using System.Text;
using System.Text.Json;
using EventGateway.Languages.Expr;

namespace EventGateway.Languages.Govaluate;

/// <summary>
/// govaluate with parameters, as Argo Events' expr filters use it: every variable the expression names is
/// replaced by its parameter's value written as a literal, then the text is parsed and evaluated by the engine
/// of Argo Workflows' <c>when</c>.
/// </summary>
/// <remarks>
/// Binding comes before parsing, as it always has here, so an unknown variable is reported before a syntax
/// error. Differences from govaluate with real parameters: a string value that looks like a date becomes unix
/// seconds (govaluate only does that to literals), and null, object and array values are rejected rather than
/// compared.
/// </remarks>
public static class GovaluateExpression
{
    /// <summary>The syntax error of <paramref name="expression"/> with its variables unbound, or null (for load-time checks).</summary>
    public static string? SyntaxError(string expression)
    {
        try
        {
            WhenParser.Parse(expression);
            return null;
        }
        catch (ExprError e)
        {
            return e.Reason;
        }
    }

    /// <summary>Evaluates <paramref name="expression"/> with each variable bound to the parameter of that name.</summary>
    /// <exception cref="ExpressionException">
    /// A variable without a parameter, a value no literal can carry, a syntax or an evaluation error;
    /// <see cref="ExpressionException.Reason"/> is the message without the expression.
    /// </exception>
    public static object? Evaluate(string expression, IReadOnlyDictionary<string, JsonElement> parameters)
    {
        try
        {
            return WhenParser.Parse(Bind(expression, parameters)).Eval();
        }
        catch (ExprError e)
        {
            throw new ExpressionException(expression, null, e.Reason, e);
        }
    }

    /// <summary>
    /// Replaces every variable (bare word or <c>[escaped]</c> word) with its parameter's value as a literal.
    /// govaluate fails on a variable no parameter names; so does this.
    /// </summary>
    private static string Bind(string expr, IReadOnlyDictionary<string, JsonElement> parameters)
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

    // The messages say "field": the parameters are the expr filter's named fields.
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
}
