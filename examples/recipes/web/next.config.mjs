/** @type {import('next').NextConfig} */
const nextConfig = {
  poweredByHeader: false,
  // next dev serves its scripts only to pages opened on localhost unless told
  // otherwise; a page opened on http://127.0.0.1:3000/ would never hydrate. Allow
  // every loopback spelling, so that whether the page's fetch works is decided in one
  // place only: the API's CORS_ALLOWED_ORIGINS (check.py opens the page on [::1],
  // an origin the API does not allow, to see the browser refuse).
  allowedDevOrigins: ["127.0.0.1", "[::1]"],
};

export default nextConfig;
