// The example operations from schema/operations/, bundled at build time, each
// with variables that work against the local run's demo catalogue.

const files = import.meta.glob('../../schema/operations/*.graphql', {
  query: '?raw',
  import: 'default',
  eager: true,
});

/** Variables to start from, by operation name. */
const VARIABLES = {
  Products: { first: 5, search: 'stoneware' },
  Product: { sku: 'MUG-STONEWARE-12OZ' },
  Register: {
    input: { email: 'admin@example.com', password: 'battery staple', name: 'Ada Admin' },
  },
  Login: { email: 'admin@example.com', password: 'battery staple' },
  CreateOrder: { items: [{ sku: 'MUG-STONEWARE-12OZ', quantity: 2 }] },
  PayOrder: {
    orderId: '<id from CreateOrder>',
    paymentToken: 'tok_visa',
    idempotencyKey: 'first-try',
  },
  MyOrders: { first: 10 },
  Order: { id: '<id from CreateOrder>' },
  OrderWithDeferredDetails: { id: '<id from CreateOrder>' },
  OrderUpdated: { id: '<id from CreateOrder>' },
  CancelOrder: { id: '<id from CreateOrder>' },
  CreateProduct: {
    input: {
      sku: 'TEA-SENCHA-100G',
      name: 'Sencha, 100 g',
      description: 'A grassy Japanese green tea.',
      price: 1250,
      currency: 'USD',
      stock: 40,
    },
  },
  Restock: { sku: 'MUG-STONEWARE-12OZ', quantity: 10 },
  CategoryPage: { slug: 'mugs-cups', filter: { inStock: true }, sort: 'PRICE_ASC' },
  UpdateProduct: { sku: 'MUG-STONEWARE-12OZ', input: { categories: ['mugs-cups', 'kitchen'] } },
  ArchiveProduct: { sku: 'BLANKET-WOOL-THROW' },
  AddToCart: { sku: 'MUG-STONEWARE-12OZ', quantity: 2 },
  Cart: { id: '<id from AddToCart, when signed out>' },
  UpdateCartLine: { sku: 'MUG-STONEWARE-12OZ', quantity: 3 },
  MergeCart: { cartId: '<the anonymous cart id from AddToCart>' },
  ShippingMethods: { country: 'US' },
  AddAddress: {
    input: {
      name: 'Ada Admin',
      line1: '1 Main St',
      city: 'Springfield',
      region: 'IL',
      postalCode: '62701',
      country: 'US',
    },
  },
  UpdateAddress: {
    id: '<id from AddAddress>',
    input: { name: 'Ada Admin', line1: '2 Main St', city: 'Springfield', postalCode: '62701', country: 'US' },
  },
  SetDefaultAddress: { id: '<id from AddAddress>' },
  DeleteAddress: { id: '<id from AddAddress>' },
  CreateDiscountCode: { input: { code: 'WELCOME10', percentage: 10 } },
  Checkout: {
    input: {
      shippingAddressId: '<id from AddAddress>',
      shippingMethod: 'STANDARD',
      discountCode: 'WELCOME10',
      idempotencyKey: 'checkout-1',
    },
  },
};

/** The order the issue walks through; the rest follow alphabetically. */
const ORDER = [
  'Categories',
  'CategoryPage',
  'Products',
  'Product',
  'AddToCart',
  'Register',
  'Login',
  'MergeCart',
  'Me',
  'AddAddress',
  'ShippingMethods',
  'Checkout',
  'OrderUpdated',
  'PayOrder',
  'MyOrders',
  'OrderWithDeferredDetails',
  'CreateOrder',
];

function describe(text) {
  return text
    .split('\n')
    .filter((line) => line.startsWith('#'))
    .map((line) => line.replace(/^#\s?/, ''))
    .join(' ');
}

export const EXAMPLES = Object.entries(files)
  .map(([path, text]) => {
    const name = path.split('/').pop().replace(/\.graphql$/, '');
    const variables = VARIABLES[name];
    return {
      name,
      description: describe(text),
      query: text.trimEnd() + '\n',
      variables: variables ? JSON.stringify(variables, null, 2) : '',
    };
  })
  .sort((a, b) => {
    const rank = (e) => (ORDER.includes(e.name) ? ORDER.indexOf(e.name) : ORDER.length);
    return rank(a) - rank(b) || a.name.localeCompare(b.name);
  });

/** The examples opened as tabs on a first visit (the walkthrough). */
export const TAB_EXAMPLES = ['Products', 'Register', 'Login', 'Me', 'CreateOrder', 'OrderUpdated', 'PayOrder', 'MyOrders'];
