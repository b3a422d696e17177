import { connection } from "next/server";

import RecipeList from "./recipe-list";

// The page is rendered per request and hands the API's address to the browser, which
// fetches the recipes itself: a cross-origin call (this page is on FRONTEND_PORT, the
// API on API_PORT), so the API's CORS setting decides whether the list appears.
// API_URL is read at request time rather than inlined as NEXT_PUBLIC_* at build time,
// so `stackup up --port-offset N` moves the API without a rebuild.
export default async function Page() {
  await connection();
  const apiUrl = process.env.API_URL ?? "http://localhost:8000";
  return (
    <main>
      <h1>Recipes</h1>
      <p>
        Fetched by your browser from <code>{apiUrl}/api/recipes/</code>.
      </p>
      <RecipeList apiUrl={apiUrl} />
    </main>
  );
}
