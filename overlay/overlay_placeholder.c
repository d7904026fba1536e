/* overlay — placeholder translation unit until the component lands. */
typedef int overlay_placeholder;
