/* queue — placeholder translation unit until the component lands. */
typedef int queue_placeholder;
