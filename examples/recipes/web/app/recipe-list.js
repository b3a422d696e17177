"use client";

import { useEffect, useState } from "react";

export default function RecipeList({ apiUrl }) {
  const [state, setState] = useState({ status: "loading" });

  useEffect(() => {
    const controller = new AbortController();
    fetch(`${apiUrl}/api/recipes/`, { signal: controller.signal })
      .then((response) => {
        if (!response.ok) throw new Error(`the API answered ${response.status}`);
        return response.json();
      })
      .then((body) => setState({ status: "loaded", recipes: body.results }))
      .catch((error) => {
        if (error.name !== "AbortError") setState({ status: "error", message: String(error) });
      });
    return () => controller.abort();
  }, [apiUrl]);

  if (state.status === "loading") {
    return <p id="recipes" data-state="loading">Loading recipes…</p>;
  }
  if (state.status === "error") {
    // A browser reports a CORS refusal as a bare network error ("Failed to fetch"):
    // say what to check, since the page cannot tell the two apart.
    return (
      <p id="recipes" data-state="error" role="alert">
        Could not load {apiUrl}/api/recipes/: {state.message}. Is the API up, and does its
        CORS_ALLOWED_ORIGINS include {window.location.origin}?
      </p>
    );
  }
  return (
    <ul id="recipes" data-state="loaded" data-count={state.recipes.length}>
      {state.recipes.map((recipe) => (
        <li key={recipe.slug} data-slug={recipe.slug}>
          <strong>{recipe.title}</strong> by{" "}
          <a href={`${apiUrl}/api/users/profile/${recipe.author}/`}>{recipe.author}</a>,{" "}
          {recipe.minutes} min, serves {recipe.servings}
        </li>
      ))}
    </ul>
  );
}
