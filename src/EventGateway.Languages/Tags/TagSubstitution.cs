using System.Text;
using EventGateway.Languages.Expr;

namespace EventGateway.Languages.Tags;

/// <summary>
/// Substitution of Argo template tags: <c>{{name}}</c> (simple, whitespace trimmed) and <c>{{=expr}}</c>
/// (expression, the <c>=</c> immediately after the braces).
/// </summary>
public static class TagSubstitution
{
    private const string Open = "{{";
    private const string Close = "}}";

    /// <summary>
    /// Replaces every tag in <paramref name="text"/>. Text without <c>{{</c> is returned as the same instance.
    /// </summary>
    /// <param name="lookup">Value of a simple tag, or null when the variable is unknown.</param>
    /// <param name="expressionEnv">Flat variables for expression tags; only called if one is present.</param>
    /// <param name="strict">
    /// When false, unresolved simple tags, expressions naming unknown variables and expressions evaluating to
    /// nil are left verbatim for a later pass (Argo's allowUnresolved). When true they throw.
    /// </param>
    /// <exception cref="UnresolvedVariableException">Strict mode and a simple tag has no value.</exception>
    /// <exception cref="ExpressionException">An expression tag fails (in strict mode also for unknown names and nil).</exception>
    public static string Render(string text, Func<string, string?> lookup, Func<IReadOnlyDictionary<string, object?>> expressionEnv, bool strict)
    {
        ArgumentNullException.ThrowIfNull(text);
        var start = text.IndexOf(Open, StringComparison.Ordinal);
        if (start < 0)
        {
            return text;
        }

        ArgumentNullException.ThrowIfNull(lookup);
        ArgumentNullException.ThrowIfNull(expressionEnv);
        var sb = new StringBuilder(text.Length + 32);
        EvalContext? context = null;
        var copied = 0;
        while (start >= 0)
        {
            var end = text.IndexOf(Close, start + Open.Length, StringComparison.Ordinal);
            if (end < 0)
            {
                // An unterminated "{{" is ordinary text.
                break;
            }

            sb.Append(text, copied, start - copied);
            var tag = text.AsSpan(start + Open.Length, end - start - Open.Length);
            var verbatim = text.AsSpan(start, end + Close.Length - start);
            if (tag.Length > 0 && tag[0] == '=')
            {
                context ??= new EvalContext(expressionEnv());
                AppendExpression(sb, tag[1..].ToString(), verbatim, context, strict);
            }
            else
            {
                var name = tag.Trim().ToString();
                var value = lookup(name);
                if (value is not null)
                {
                    sb.Append(value);
                }
                else if (strict)
                {
                    throw new UnresolvedVariableException(name);
                }
                else
                {
                    sb.Append(verbatim);
                }
            }

            copied = end + Close.Length;
            start = text.IndexOf(Open, copied, StringComparison.Ordinal);
        }

        return sb.Append(text, copied, text.Length - copied).ToString();
    }

    /// <summary>Names used in simple <c>{{name}}</c> tags, in order of appearance; expression tags are skipped.</summary>
    public static IEnumerable<string> VariableNames(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        return text.Contains(Open, StringComparison.Ordinal) ? Scan(text) : [];
    }

    private static IEnumerable<string> Scan(string text)
    {
        var start = text.IndexOf(Open, StringComparison.Ordinal);
        while (start >= 0)
        {
            var end = text.IndexOf(Close, start + Open.Length, StringComparison.Ordinal);
            if (end < 0)
            {
                yield break;
            }

            var tag = text.AsSpan(start + Open.Length, end - start - Open.Length);
            if (tag.Length == 0 || tag[0] != '=')
            {
                var name = tag.Trim();
                if (name.Length > 0)
                {
                    yield return name.ToString();
                }
            }

            start = text.IndexOf(Open, end + Close.Length, StringComparison.Ordinal);
        }
    }

    private static void AppendExpression(StringBuilder sb, string expression, ReadOnlySpan<char> verbatim, EvalContext context, bool strict)
    {
        object? result;
        try
        {
            result = ArgoExpression.EvaluateIn(expression, context);
        }
        catch (ExpressionException e) when (e.IsUnresolved && !strict)
        {
            sb.Append(verbatim);
            return;
        }

        if (result is null)
        {
            // Argo treats a nil result as unresolved: kept for a later pass, an error once everything is known.
            if (!strict)
            {
                sb.Append(verbatim);
                return;
            }

            throw new ExpressionException(expression, null, "expression evaluated to nil");
        }

        sb.Append(ArgoExpression.Stringify(result));
    }
}
