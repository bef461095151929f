using EventGateway.Languages.GoTemplates;
using EventGateway.Languages.Json;

namespace EventGateway.Languages.Expr;

/// <summary>
/// Evaluates Argo Workflows expression tags (<c>{{=...}}</c>), i.e. the expr-lang dialect with Argo's
/// additions (asInt, asFloat, jsonpath, toJson, sprig.*), over Argo's flat variable map.
/// </summary>
public static class ArgoExpression
{
    private const int CacheCapacity = 4096;

    private static readonly BoundedCache<Node> ParsedExpressions = new(CacheCapacity);

    /// <summary>Number of parsed expressions currently cached (bounded by 4096).</summary>
    internal static int CachedCount => ParsedExpressions.Count;

    /// <summary>
    /// Evaluates <paramref name="expression"/>. <paramref name="env"/> maps dotted names such as
    /// <c>inputs.parameters.count</c> to values (string, long, double, bool, null, lists, maps).
    /// </summary>
    /// <exception cref="ExpressionException">Syntax, type or name errors.</exception>
    public static object? Evaluate(string expression, IReadOnlyDictionary<string, object?> env)
    {
        ArgumentNullException.ThrowIfNull(expression);
        ArgumentNullException.ThrowIfNull(env);
        var result = EvaluateIn(expression, new EvalContext(env));
        return result is EnvNode node ? node.Detach() : result;
    }

    /// <summary>
    /// Renders a result the way Argo substitutes it into a template: strings verbatim, numbers as Go's JSON
    /// encoder writes them (2.0 -> "2"), bools as true/false, nil as "", lists and maps as compact JSON.
    /// </summary>
    public static string Stringify(object? value)
    {
        value = Values.Normalize(value);
        switch (value)
        {
            case null: return string.Empty;
            case string s: return s;
            case bool b: return b ? "true" : "false";
            case long l: return l.ToString(System.Globalization.CultureInfo.InvariantCulture);
            case double d: return double.IsFinite(d) ? GoFormat.JsonFloat(d) : GoFormat.FloatV(d);
        }

        try
        {
            return JsonCodec.Serialize(value);
        }
        catch (ExprError e)
        {
            throw new ExpressionException(e.Reason, e);
        }
    }

    /// <summary>
    /// Parses JSON into the values expressions see, as <c>fromJSON</c> does: objects as maps, integral numbers
    /// as long, others as double; for callers whose environment is a JSON document.
    /// </summary>
    /// <exception cref="ExpressionException">Not JSON; the message is "invalid JSON: ..." with the parser's reason.</exception>
    public static object? FromJson(string json)
    {
        try
        {
            return JsonCodec.Parse(json);
        }
        catch (ExprError e)
        {
            throw new ExpressionException(e.Reason, e);
        }
    }

    /// <summary>Parses <paramref name="expression"/> without evaluating it, for load-time checks.</summary>
    /// <exception cref="ExpressionException">A syntax error, with its reason and position.</exception>
    public static void Check(string expression)
    {
        try { ParsedExpressions.GetOrAdd(expression, Parser.Parse); }
        catch (ExprError e) { throw e.ToPublic(expression); }
    }

    /// <summary>Evaluation against a shared context, so several tags in one template expand the env once.</summary>
    internal static object? EvaluateIn(string expression, EvalContext context)
    {
        try
        {
            return ParsedExpressions.GetOrAdd(expression, Parser.Parse).Eval(context);
        }
        catch (ExprError e)
        {
            throw e.ToPublic(expression);
        }
    }
}
