export const metadata = {
  title: "Recipes",
  description: "Recipes from the Django API, fetched by the browser",
};

export default function RootLayout({ children }) {
  return (
    <html lang="en">
      <body style={{ fontFamily: "system-ui, sans-serif", margin: "2rem auto", maxWidth: "42rem" }}>
        {children}
      </body>
    </html>
  );
}
