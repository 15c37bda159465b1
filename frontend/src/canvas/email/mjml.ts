// The email designer's starting point and its own blocks: a design that already carries the
// footer with the unsubscribe and preferences links (Liquid, filled in at send time).

// Every element closed explicitly: the designer parses MJML as HTML, where `<mj-x />` stays open.
export const FOOTER_MJML = `<mj-section padding="12px 0">
  <mj-column>
    <mj-divider border-width="1px" border-color="#e5e7eb"></mj-divider>
    <mj-text align="center" font-size="12px" color="#6b7280">
      You get this email because you are a customer of ours.
      <a href="{{ unsubscribe_url }}" style="color:#6b7280">Unsubscribe</a> ·
      <a href="{{ preferences_url }}" style="color:#6b7280">Email preferences</a>
    </mj-text>
  </mj-column>
</mj-section>`;

export const STARTER_MJML = `<mjml>
  <mj-body background-color="#f4f4f5">
    <mj-section background-color="#ffffff" padding="24px 0">
      <mj-column>
        <mj-text font-size="22px" font-weight="bold">Hi {{ customer.first_name | default: "there" }}</mj-text>
        <mj-text>Write your message here.</mj-text>
      </mj-column>
    </mj-section>
    ${FOOTER_MJML}
  </mj-body>
</mjml>`;

/** A light grey picture for a new image block: no call to a placeholder service. */
export const IMAGE_PLACEHOLDER =
  'data:image/svg+xml;utf8,' +
  encodeURIComponent('<svg xmlns="http://www.w3.org/2000/svg" width="600" height="300"><rect width="100%" height="100%" fill="#e5e7eb"/><text x="50%" y="50%" font-family="sans-serif" font-size="24" fill="#6b7280" text-anchor="middle">Image</text></svg>');

/** The blocks offered, of grapesjs-mjml's: the email's building bricks, without the exotic ones. */
export const BLOCKS = ['mj-1-column', 'mj-2-columns', 'mj-3-columns', 'mj-text', 'mj-image', 'mj-button', 'mj-divider', 'mj-social-group', 'mj-spacer'];
